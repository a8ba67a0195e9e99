// Pointer input on a view, turned into model commands: select, drag a shape or its handle,
// draw with the tool in use, pan. Keyboard shortcuts are the page's (work.js).
import { bigEnough, clamp, dragHandle, normalizeRectangle, translate } from "./geometry.js";

// Follow a pointer until it is released: move(event) on each move, up(event) at the end.
function track(e, move, up) {
  const target = e.currentTarget || e.target;
  target.setPointerCapture?.(e.pointerId);
  const onUp = (ev) => {
    window.removeEventListener("pointermove", move);
    window.removeEventListener("pointerup", onUp);
    up(ev);
  };
  window.addEventListener("pointermove", move);
  window.addEventListener("pointerup", onUp);
}

function pan(view, e) {
  e.preventDefault();
  const [x0, y0, vx, vy] = [e.clientX, e.clientY, view.x, view.y];
  track(
    e,
    (ev) => view.panTo(vx + ev.clientX - x0, vy + ev.clientY - y0),
    () => {},
  );
}

function drawRectangle(model, view, e, from) {
  model.startDrawing(view.sensor, "rectangle", [from, from]);
  track(
    e,
    (ev) => {
      const [x, y] = view.at(ev);
      model.setDrawingEnd([clamp(x), clamp(y)]);
    },
    () => {
      const points = model.drawing.points;
      model.cancelDrawing();
      if (bigEnough(points, view.width, view.height)) {
        model.add("rectangle", normalizeRectangle(points), view.sensor);
      }
    },
  );
}

// The smart tool: a box drawn like a rectangle, handed to `assist(box)` (view fractions).
function drawPrompt(model, view, e, from, assist) {
  model.startDrawing(view.sensor, "rectangle", [from, from]);
  track(
    e,
    (ev) => {
      const [x, y] = view.at(ev);
      model.setDrawingEnd([clamp(x), clamp(y)]);
    },
    () => {
      const points = model.drawing.points;
      model.cancelDrawing();
      if (bigEnough(points, view.width, view.height)) assist(view, normalizeRectangle(points));
    },
  );
}

// Paint (or erase) the mask along the pointer's path.
function paint(model, view, e) {
  if (!model.beginStroke(model.tool, view.at(e))) return;
  track(
    e,
    (ev) => model.extendStroke(view.at(ev)),
    () => model.endStroke(),
  );
}

// Move an object (or, by a handle, one corner or vertex) with the pointer.
function drag(model, view, e, id, handle) {
  e.preventDefault();
  const obj = model.object(id);
  const g = model.geometry(id);
  if (!g) return;
  const before = model.snapshot();
  const start = view.at(e);
  const original = g.points.map((p) => [...p]);
  track(
    e,
    (ev) => {
      const [x, y] = view.at(ev);
      const [dx, dy] = [x - start[0], y - start[1]];
      if (handle !== undefined) model.move(id, dragHandle(obj.shape, original, handle, dx, dy));
      else model.move(id, translate(original, dx, dy));
    },
    () => {
      const now = model.geometry(id); // a keyframe now, if the drag made one
      if (obj.shape === "rectangle" && now) now.points = normalizeRectangle(now.points);
      if (!model.commit(before) && now) model.move(id, now.points);
    },
  );
}

// What a press on a view does, by button, modifier and tool.
export function pointerDown(model, view, e, readonly, assist = () => {}) {
  const onShape = Boolean(e.target.dataset?.id);
  if (e.button === 1 || e.button === 2) return pan(view, e);
  if (e.button === 0 && e.shiftKey && model.tool === "select" && !onShape) return pan(view, e);
  if (e.button !== 0) return;
  if (readonly) return pan(view, e);
  const [x, y] = view.at(e);
  const inside = x >= 0 && x <= 1 && y >= 0 && y <= 1;
  if (model.tool === "select") {
    const id = e.target.dataset?.id;
    if (!id) {
      model.select(null);
      return pan(view, e);
    }
    model.select(id);
    return drag(model, view, e, id, e.target.dataset.handle);
  }
  if (!inside) return;
  e.preventDefault();
  if (model.tool === "rectangle") return drawRectangle(model, view, e, [clamp(x), clamp(y)]);
  if (model.tool === "smart") return drawPrompt(model, view, e, [clamp(x), clamp(y)], assist);
  if (model.tool === "brush" || model.tool === "eraser") return paint(model, view, e);
  if (model.tool === "landmark") {
    if (model.skeletonOf(model.label)) return model.placeSkeletonPoint(view.sensor, [x, y]);
    return model.add("landmark", [[x, y]], view.sensor);
  }
  // polygon, line and fill: each click adds a point; Enter or a double click finishes
  model.addDrawingPoint(view.sensor, [x, y]);
}

// Listen to a view's pointer: presses, and a double click to finish a polygon or line.
export function attach(model, view, readonly, assist) {
  view.root.addEventListener("pointerdown", (e) => pointerDown(model, view, e, readonly, assist));
  view.root.addEventListener("dblclick", () => model.finishDrawing());
  view.root.addEventListener("pointermove", (e) => model.setCursor(view.sensor, view.at(e)));
  view.root.addEventListener("pointerleave", () => model.setCursor(view.sensor, null));
}
