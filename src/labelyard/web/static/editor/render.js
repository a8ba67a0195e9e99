// Drawing the model into a view's SVG layer: the objects of the current frame seen by the
// view's sensor, the selected one's handles, and a shape being drawn.
import { el, SVG } from "./dom.js";
import { colorOf, handles, rectangleBox, skeletonEdges } from "./geometry.js";

export function renderView(view, model, readonly) {
  const svg = view.svg;
  svg.replaceChildren();
  const w = view.width;
  const h = view.height;
  const px = (p) => `${p[0] * w},${p[1] * h}`;
  for (const obj of model.objects) {
    const g =
      model.shownGeometry(obj) || (obj.id === model.selected ? model.heldGeometry(obj) : null);
    if (!g || (g.sensor || null) !== view.sensor) continue;
    const selected = obj.id === model.selected;
    const hidden = Boolean(g.extra?.hidden);
    if (hidden && !selected) continue; // not seen on this frame
    const classes = ["shape"];
    if (selected) classes.push("selected");
    if (hidden) classes.push("frame-hidden");
    if (g.extra?.occluded) classes.push("occluded");
    if (g.extra?.interpolated) classes.push("interpolated");
    if (g.extra?.held) classes.push("held");
    const attrs = {
      "data-id": obj.id,
      "data-shape": obj.shape,
      class: classes.join(" "),
      stroke: colorOf(obj.label),
    };
    let node;
    if (obj.shape === "rectangle") {
      node = el("rect", { ...attrs, ...rectangleBox(g.points, w, h) }, SVG);
    } else if (obj.shape === "polygon") {
      node = el("polygon", { ...attrs, points: g.points.map(px).join(" ") }, SVG);
    } else if (obj.shape === "line") {
      node = el("polyline", { ...attrs, points: g.points.map(px).join(" ") }, SVG);
    } else if (obj.shape === "landmark" || obj.shape === "cuboid") {
      node = el("g", attrs, SVG);
      for (const [a, b] of skeletonEdges(g)) {
        const line = { x1: a[0] * w, y1: a[1] * h, x2: b[0] * w, y2: b[1] * h };
        node.append(
          el("line", { class: "bone", "data-id": obj.id, stroke: attrs.stroke, ...line }, SVG),
        );
      }
      for (const p of g.points) {
        const point = { "data-id": obj.id, class: "point", fill: attrs.stroke };
        node.append(el("circle", { ...point, cx: p[0] * w, cy: p[1] * h, r: 5 / view.zoom }, SVG));
      }
    }
    node.append(el("title", { text: obj.label || "" }, SVG));
    svg.append(node);
    if (selected && !readonly) renderHandles(view, obj, g);
  }
  const c = model.cursor;
  if (c && c.sensor === view.sensor && (model.tool === "brush" || model.tool === "eraser")) {
    const [cx, cy] = [c.point[0] * w, c.point[1] * h];
    svg.append(el("circle", { class: "brush-cursor", cx, cy, r: model.brushSize }, SVG));
  }
  const d = model.drawing;
  if (d && d.sensor === view.sensor) {
    if (d.shape === "rectangle") {
      svg.append(el("rect", { class: "drawing", ...rectangleBox(d.points, w, h) }, SVG));
    } else if (d.skeleton) {
      // a skeleton being placed: its points so far, and the name of the next one
      for (const p of d.points) {
        svg.append(
          el("circle", { class: "drawing", cx: p[0] * w, cy: p[1] * h, r: 4 / view.zoom }, SVG),
        );
      }
      const next = d.skeleton.points[d.points.length];
      const [x, y] = d.points[d.points.length - 1];
      const hint = {
        class: "place-hint",
        x: x * w + 8 / view.zoom,
        y: y * h,
        text: `next: ${next}`,
      };
      svg.append(el("text", { ...hint, "font-size": 14 / view.zoom }, SVG));
    } else {
      svg.append(el("polyline", { class: "drawing", points: d.points.map(px).join(" ") }, SVG));
    }
  }
}

function renderHandles(view, obj, g) {
  const size = 9 / view.zoom;
  for (const [x, y, key] of handles(obj.shape, g.points)) {
    const box = {
      x: x * view.width - size / 2,
      y: y * view.height - size / 2,
      width: size,
      height: size,
    };
    view.svg.append(
      el("rect", { class: "handle", "data-id": obj.id, "data-handle": key, ...box }, SVG),
    );
  }
}
