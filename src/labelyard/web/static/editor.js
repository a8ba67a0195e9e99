// The annotation editor: images (one per view) with an SVG layer of objects drawn over them.
//
// Objects are kept in one model, whatever the project type:
//   {id, shape, label, attributes: {name: value}, frames: {frameId: geometry}, extra}
// where a geometry is {points: [[x, y], ...], sensor: sensorId|null} in normalised [0, 1]
// coordinates (a rectangle is its two corners TL and BR). IMAGE jobs have the one frame "0".
// `toAnnotations()` turns the model into the API's layout, `load()` reads it back.

const SVG = "http://www.w3.org/2000/svg";
const KEYS = { rectangle: "rectangles", polygon: "polygons", line: "lines", landmark: "landmarks", cuboid: "cuboids" };
const SHAPES = ["rectangle", "polygon", "line", "landmark"];
const TRACKED = new Set(["VIDEO", "SENSOR_FUSION", "POINT_CLOUD_SEGMENTATION"]);
const HISTORY_LIMIT = 200;

const clamp = (v) => Math.min(1, Math.max(0, v));
const round = (v) => Math.round(v * 1e6) / 1e6;

function el(tag, attrs = {}, ns = null) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  return node;
}

function newId(taken) {
  let id;
  do id = "o" + Math.random().toString(36).slice(2, 10); while (taken.has(id));
  return id;
}

// --- The API's annotation layout <-> the editor's model ----------------------------------------

const GEOMETRY_KEYS = ["coordinates", "points", "edges", "sensor_id"];
const rest = (o, skip) => Object.fromEntries(Object.entries(o).filter(([k]) => !skip.includes(k)));

// A polygon's, line's or landmark's point names in drawing order: by number where every name
// ends in one (p1, p2, ... p10), else as sent.
function pointNames(pts) {
  const names = Object.keys(pts);
  const numbered = names.every((n) => /\d+$/.test(n));
  return numbered ? names.sort((a, b) => Number(a.match(/\d+$/)[0]) - Number(b.match(/\d+$/)[0])) : names;
}

// A geometry of the API as the model keeps it: points (a rectangle: TL and BR), the points'
// names (so edges still name them), the camera, and any other keys, given back untouched.
function readGeometry(geometry, shape, keepExtra) {
  if (!geometry || typeof geometry !== "object") return null;
  const g = { points: null, sensor: geometry.sensor_id || null, extra: keepExtra ? rest(geometry, GEOMETRY_KEYS) : {} };
  if (shape === "rectangle") {
    const [tl, , br] = geometry.coordinates || [];
    if (!tl || !br) return null;
    g.points = [[tl.x, tl.y], [br.x, br.y]];
    return g;
  }
  const pts = geometry.points;
  if (!pts || typeof pts !== "object") return null;
  g.names = pointNames(pts);
  g.points = g.names.map((k) => [pts[k].x, pts[k].y]);
  if (geometry.edges) g.edges = geometry.edges;
  return g;
}

function geometryOf(obj, frame) {
  const g = obj.frames[frame];
  const out = { ...(g.extra || {}) };
  if (obj.shape === "rectangle") {
    const [[x1, y1], [x2, y2]] = g.points;
    const [l, r, t, b] = [Math.min(x1, x2), Math.max(x1, x2), Math.min(y1, y2), Math.max(y1, y2)].map(round);
    out.coordinates = [{ x: l, y: t }, { x: r, y: t }, { x: r, y: b }, { x: l, y: b }];
  } else {
    // The names as loaded while the points are the same ones (moved, not added or removed).
    const kept = g.names && g.names.length === g.points.length;
    const names = kept ? g.names : g.points.map((_, i) => "p" + (i + 1));
    out.points = {};
    g.points.forEach(([x, y], i) => { out.points[names[i]] = { x: round(x), y: round(y) }; });
    if (kept && g.edges) out.edges = g.edges;
  }
  if (g.sensor) out.sensor_id = g.sensor;
  return out;
}

function wrapAttributes(values) {
  const out = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k] = { value: v };
  return out;
}

function unwrapAttributes(attrs) {
  const out = {};
  for (const [k, v] of Object.entries(attrs || {})) out[k] = v && typeof v === "object" ? v.value : v;
  return out;
}

function fromAnnotations(base, annotations) {
  const objects = [];
  if (TRACKED.has(base)) {
    for (const t of annotations || []) {
      const frames = {};
      for (const [fid, geometry] of Object.entries(t.frames || {})) {
        const g = readGeometry(geometry, t.type, true);
        if (g) frames[fid] = g;
      }
      objects.push({ id: t._id, shape: t.type, label: t.label, attributes: unwrapAttributes(t.attributes), frames,
        extra: rest(t, ["_id", "type", "label", "attributes", "frames"]) });
    }
    return objects;
  }
  for (const [shape, key] of Object.entries(KEYS)) {
    for (const o of (annotations || {})[key] || []) {
      const g = readGeometry(o, shape);
      if (!g) continue;
      objects.push({ id: o._id, shape, label: o.label, attributes: unwrapAttributes(o.attributes), frames: { 0: g },
        extra: rest(o, ["_id", "label", "attributes", "coordinates", "points", "edges"]) });
    }
  }
  return objects;
}

function toAnnotations(base, objects) {
  if (TRACKED.has(base)) {
    return objects.filter((o) => Object.keys(o.frames).length).map((o) => {
      const frames = {};
      for (const fid of Object.keys(o.frames)) frames[fid] = geometryOf(o, fid);
      return { ...o.extra, _id: o.id, type: o.shape, label: o.label, attributes: wrapAttributes(o.attributes), frames };
    });
  }
  const out = { rectangles: [], polygons: [], lines: [], landmarks: [], cuboids: [] };
  for (const o of objects) {
    out[KEYS[o.shape]].push({ ...o.extra, _id: o.id, label: o.label, attributes: wrapAttributes(o.attributes), ...geometryOf(o, "0") });
  }
  return out;
}

// --- Views: one image with its SVG layer, zoom and pan ------------------------------------------

class View {
  constructor(editor, host, sensor) {
    this.editor = editor;
    this.sensor = sensor; // the camera this view shows (SENSOR_FUSION), else null
    this.root = el("div", { class: "view", "data-sensor": sensor || "" });
    if (sensor) this.root.append(el("div", { class: "view-name", text: editor.sensorName(sensor) }));
    this.stage = el("div", { class: "stage" });
    this.image = el("img", { class: "frame-image", alt: "", draggable: "false" });
    this.svg = el("svg", { class: "overlay" }, SVG);
    this.stage.append(this.image, this.svg);
    this.root.append(this.stage);
    host.append(this.root);
    this.zoom = 1; this.x = 0; this.y = 0; this.fitted = false;
    this.image.addEventListener("load", () => {
      this.svg.setAttribute("viewBox", `0 0 ${this.image.naturalWidth} ${this.image.naturalHeight}`);
      this.svg.setAttribute("width", this.image.naturalWidth);
      this.svg.setAttribute("height", this.image.naturalHeight);
      if (!this.fitted) this.fit();
      this.editor.render();
      this.root.classList.add("loaded");
    });
    this.root.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    this.root.addEventListener("pointerdown", (e) => editor.pointerDown(this, e));
    this.root.addEventListener("dblclick", () => editor.finishDrawing());
    this.root.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  show(src) {
    if (this.image.getAttribute("src") !== src) {
      this.root.classList.remove("loaded");
      this.image.src = src || "";
    }
  }

  get width() { return this.image.naturalWidth || 1; }
  get height() { return this.image.naturalHeight || 1; }

  fit() {
    const box = this.root.getBoundingClientRect();
    if (!this.image.naturalWidth || !box.width) return;
    this.zoom = Math.min(box.width / this.width, box.height / this.height);
    this.x = (box.width - this.width * this.zoom) / 2;
    this.y = (box.height - this.height * this.zoom) / 2;
    this.fitted = true;
    this.apply();
    this.editor.renderView(this);
  }

  apply() {
    this.stage.style.transform = `translate(${this.x}px, ${this.y}px) scale(${this.zoom})`;
    this.svg.style.setProperty("--stroke", String(2 / this.zoom));
  }

  zoomBy(factor, cx, cy) {
    const box = this.root.getBoundingClientRect();
    const px = cx === undefined ? box.width / 2 : cx - box.left;
    const py = cy === undefined ? box.height / 2 : cy - box.top;
    const zoom = Math.min(40, Math.max(0.05, this.zoom * factor));
    this.x = px - ((px - this.x) * zoom) / this.zoom;
    this.y = py - ((py - this.y) * zoom) / this.zoom;
    this.zoom = zoom;
    this.apply();
    this.editor.renderView(this);
  }

  onWheel(e) {
    e.preventDefault();
    this.zoomBy(Math.exp(-e.deltaY / 500), e.clientX, e.clientY);
  }

  // A pointer position as normalised image coordinates.
  at(e) {
    const r = this.image.getBoundingClientRect();
    return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];
  }
}

// --- The frame strip: a button per frame, the current one marked, annotated ones underlined -----

export function refreshFrameStrip(strip, editor) {
  if (!strip || editor.frames.length < 2) return;
  const key = editor.frames.join("\n");
  if (strip.dataset.frames !== key) {
    strip.dataset.frames = key;
    strip.replaceChildren(...editor.frames.map((fid, i) => {
      const button = el("button", { type: "button", title: `frame ${fid}`, "data-frame": fid, text: String(i + 1) });
      button.addEventListener("click", () => editor.showFrame(fid));
      return button;
    }));
  }
  const used = new Set(editor.objects.flatMap((o) => Object.keys(o.frames)));
  for (const button of strip.children) {
    button.setAttribute("aria-current", String(button.dataset.frame === editor.frame));
    button.classList.toggle("annotated", used.has(button.dataset.frame));
  }
}

// --- The editor ---------------------------------------------------------------------------------

export class Editor {
  // host: an element; job: {base, data, draft, schema}; options: {readonly, onChange, onStatus}
  constructor(host, job, options = {}) {
    this.host = host;
    this.readonly = Boolean(options.readonly);
    this.onChange = options.onChange || (() => {});
    this.tool = "select";
    this.views = [];
    this.load(job);
  }

  load(job) {
    this.job = job;
    this.base = job.base;
    this.classes = (job.schema && job.schema.classes) || [];
    this.frames = this.frameIds();
    this.frame = this.frames[0];
    this.objects = fromAnnotations(this.base, job.draft);
    this.selected = null;
    this.drawing = null;
    this.past = []; this.future = [];
    this.label = this.defaultLabel(this.tool === "select" ? "rectangle" : this.tool);
    this.buildViews();
    this.showFrame(this.frame);
  }

  frameIds() {
    const d = this.job.data || {};
    if (this.base === "VIDEO") return (d.video_data?.frames || []).map((f) => String(f.frame_id));
    if (this.base === "SENSOR_FUSION") return (d.sensor_data?.frames || []).map((f) => String(f.frame_id));
    return ["0"];
  }

  cameras() {
    const meta = this.job.data?.sensor_data?.sensor_meta || [];
    return meta.filter((m) => m.modality === "camera").map((m) => m.id);
  }

  sensorName(id) {
    const meta = (this.job.data?.sensor_data?.sensor_meta || []).find((m) => m.id === id);
    return meta?.name || id;
  }

  buildViews() {
    this.host.replaceChildren();
    const sensors = this.base === "SENSOR_FUSION" ? this.cameras() : [null];
    this.host.classList.toggle("multi", sensors.length > 1);
    this.views = sensors.map((s) => new View(this, this.host, s));
  }

  sourceOf(view, frame) {
    const d = this.job.data || {};
    if (this.base === "VIDEO") return d.video_data.frames.find((f) => String(f.frame_id) === frame)?.src;
    if (this.base === "SENSOR_FUSION") {
      const f = d.sensor_data.frames.find((x) => String(x.frame_id) === frame);
      return f?.sensors?.find((s) => s.sensor_id === view.sensor)?.data_url;
    }
    return d.image_url;
  }

  showFrame(frame) {
    if (!this.frames.includes(frame)) return;
    this.frame = frame;
    for (const v of this.views) v.show(this.sourceOf(v, frame));
    this.render();
    this.onChange("frame");
  }

  step(delta) {
    const i = this.frames.indexOf(this.frame) + delta;
    if (i >= 0 && i < this.frames.length) this.showFrame(this.frames[i]);
    return i >= 0 && i < this.frames.length;
  }

  // --- labels and attributes

  classesFor(shape) {
    return this.classes.filter((c) => !c.shapes?.length || c.shapes.includes(shape));
  }

  classOf(name) {
    return this.classes.find((c) => c.name === name) || null;
  }

  defaultLabel(shape) {
    if (this.label && (!this.classes.length || this.classesFor(shape).some((c) => c.name === this.label))) return this.label;
    const first = this.classesFor(shape)[0];
    return first ? first.name : this.classes.length ? "" : "object";
  }

  // --- changes (each undoable)

  snapshot() { return JSON.stringify(this.objects); }

  change(fn) {
    const before = this.snapshot();
    fn();
    if (this.snapshot() === before) return;
    this.past.push(before);
    if (this.past.length > HISTORY_LIMIT) this.past.shift();
    this.future = [];
    this.render();
    this.onChange("edit");
  }

  undo() { this.travel(this.past, this.future); }
  redo() { this.travel(this.future, this.past); }

  travel(from, to) {
    if (!from.length) return;
    to.push(this.snapshot());
    this.objects = JSON.parse(from.pop());
    if (this.selected && !this.object(this.selected)) this.selected = null;
    this.render();
    this.onChange("edit");
  }

  object(id) { return this.objects.find((o) => o.id === id) || null; }

  add(shape, points, view) {
    const label = this.defaultLabel(shape);
    const taken = new Set(this.objects.map((o) => o.id));
    const obj = { id: newId(taken), shape, label, attributes: {}, frames: {}, extra: {} };
    obj.frames[this.frame] = { points, sensor: view.sensor };
    this.change(() => this.objects.push(obj));
    this.select(obj.id);
    return obj;
  }

  remove(id) {
    this.change(() => { this.objects = this.objects.filter((o) => o.id !== id); });
    if (this.selected === id) this.select(null);
  }

  // Delete the selected object on this frame only (tracked), or entirely.
  removeSelected() {
    const obj = this.object(this.selected);
    if (!obj || !obj.frames[this.frame]) return; // not drawn on this frame: nothing to delete here
    if (this.frames.length > 1 && Object.keys(obj.frames).length > 1) {
      this.change(() => { delete obj.frames[this.frame]; });
    } else this.remove(obj.id);
  }

  setLabel(id, label) {
    this.label = label;
    const obj = this.object(id);
    if (obj) this.change(() => { obj.label = label; obj.attributes = {}; });
  }

  setAttribute(id, name, value) {
    const obj = this.object(id);
    if (obj) this.change(() => { if (value === undefined) delete obj.attributes[name]; else obj.attributes[name] = value; });
  }

  select(id) {
    this.selected = id;
    const obj = this.object(id);
    if (obj) this.label = obj.label;
    this.render();
    this.onChange("select");
  }

  setTool(tool) {
    this.cancelDrawing();
    this.tool = tool;
    if (tool !== "select") this.label = this.defaultLabel(tool);
    this.host.dataset.tool = tool;
    this.onChange("tool");
  }

  // Copy the selected object (or every object of this frame) to the next frame, then go there.
  copyToNextFrame() {
    const i = this.frames.indexOf(this.frame);
    if (i < 0 || i + 1 >= this.frames.length) return false;
    const next = this.frames[i + 1];
    const chosen = this.selected ? [this.object(this.selected)] : this.objects.filter((o) => o.frames[this.frame]);
    this.change(() => {
      for (const obj of chosen) {
        if (obj && obj.frames[this.frame] && !obj.frames[next] && this.tracked(obj)) {
          obj.frames[next] = JSON.parse(JSON.stringify(obj.frames[this.frame]));
        }
      }
    });
    this.showFrame(next);
    return true;
  }

  annotations() { return toAnnotations(this.base, this.objects); }

  // Objects of a class marked `tracked: false` live on one frame only.
  tracked(obj) { return this.classOf(obj.label)?.tracked !== false; }

  // What still keeps the annotations from being valid: a class or a required attribute not set.
  missing() {
    for (const obj of this.objects) {
      if (!obj.label) return `a ${obj.shape} has no class`;
      if (!this.tracked(obj) && Object.keys(obj.frames).length > 1) return `${obj.label} objects are not tracked: keep one frame`;
      for (const a of this.classOf(obj.label)?.attributes || []) {
        const v = obj.attributes[a.name];
        if (a.required && (v === undefined || v === "" || (Array.isArray(v) && !v.length))) {
          return `${obj.label}: ${a.name} is required`;
        }
      }
    }
    return null;
  }

  // --- pointer input

  pointerDown(view, e) {
    if (e.button === 1 || e.button === 2 || (e.button === 0 && e.shiftKey && this.tool === "select" && !e.target.dataset.id)) {
      return this.pan(view, e);
    }
    if (e.button !== 0) return;
    if (this.readonly) return this.pan(view, e);
    const [x, y] = view.at(e);
    const inside = x >= 0 && x <= 1 && y >= 0 && y <= 1;
    if (this.tool === "select") {
      const id = e.target.dataset?.id;
      if (!id) {
        this.select(null);
        return this.pan(view, e);
      }
      this.select(id);
      return this.drag(view, e, id, e.target.dataset.handle);
    }
    if (!inside) return;
    e.preventDefault();
    if (this.tool === "rectangle") return this.drawRectangle(view, e, [clamp(x), clamp(y)]);
    if (this.tool === "landmark") return this.add("landmark", [[x, y]], view);
    // polygon and line: each click adds a point; Enter or a double click finishes
    if (!this.drawing || this.drawing.view !== view) this.drawing = { view, shape: this.tool, points: [] };
    this.drawing.points.push([x, y]);
    this.render();
  }

  track(e, move, up) {
    const target = e.currentTarget || e.target;
    target.setPointerCapture?.(e.pointerId);
    const onMove = (ev) => move(ev);
    const onUp = (ev) => {
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onUp);
      up(ev);
    };
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
  }

  pan(view, e) {
    e.preventDefault();
    const start = [e.clientX, e.clientY, view.x, view.y];
    this.track(e, (ev) => {
      view.x = start[2] + ev.clientX - start[0];
      view.y = start[3] + ev.clientY - start[1];
      view.apply();
    }, () => {});
  }

  drawRectangle(view, e, from) {
    this.drawing = { view, shape: "rectangle", points: [from, from] };
    this.track(e, (ev) => {
      const [x, y] = view.at(ev);
      this.drawing.points[1] = [clamp(x), clamp(y)];
      this.render();
    }, () => {
      const [[x1, y1], [x2, y2]] = this.drawing.points;
      this.drawing = null;
      const big = Math.abs(x2 - x1) * view.width >= 2 && Math.abs(y2 - y1) * view.height >= 2;
      if (big) this.add("rectangle", [[Math.min(x1, x2), Math.min(y1, y2)], [Math.max(x1, x2), Math.max(y1, y2)]], view);
      else this.render();
    });
  }

  finishDrawing() {
    const d = this.drawing;
    if (!d) return;
    const min = d.shape === "polygon" ? 3 : 2;
    // A double click adds its point twice: drop repeats.
    const points = d.points.filter((p, i) => i === 0 || p[0] !== d.points[i - 1][0] || p[1] !== d.points[i - 1][1]);
    this.drawing = null;
    if (points.length >= min) this.add(d.shape, points.map(([x, y]) => [clamp(x), clamp(y)]), d.view);
    else this.render();
  }

  cancelDrawing() {
    if (this.drawing) { this.drawing = null; this.render(); }
  }

  // Move an object (or, by a handle, one corner or vertex) with the pointer.
  drag(view, e, id, handle) {
    e.preventDefault();
    const obj = this.object(id);
    const g = obj?.frames[this.frame];
    if (!g) return;
    const before = this.snapshot();
    const start = view.at(e);
    const original = g.points.map((p) => [...p]);
    this.track(e, (ev) => {
      const [x, y] = view.at(ev);
      let dx = x - start[0], dy = y - start[1];
      if (handle !== undefined) {
        const [i, j] = handle.split(",").map(Number); // point index; for rectangles the corner's x and y sources
        if (obj.shape === "rectangle") {
          g.points = original.map((p) => [...p]);
          g.points[i][0] = clamp(original[i][0] + dx);
          g.points[j][1] = clamp(original[j][1] + dy);
        } else {
          g.points[i] = [clamp(original[i][0] + dx), clamp(original[i][1] + dy)];
        }
      } else {
        const xs = original.map((p) => p[0]), ys = original.map((p) => p[1]);
        dx = Math.min(1 - Math.max(...xs), Math.max(-Math.min(...xs), dx));
        dy = Math.min(1 - Math.max(...ys), Math.max(-Math.min(...ys), dy));
        g.points = original.map(([px, py]) => [px + dx, py + dy]);
      }
      this.render();
    }, () => {
      if (obj.shape === "rectangle") {
        const [[x1, y1], [x2, y2]] = g.points;
        g.points = [[Math.min(x1, x2), Math.min(y1, y2)], [Math.max(x1, x2), Math.max(y1, y2)]];
      }
      if (this.snapshot() !== before) {
        this.past.push(before);
        this.future = [];
        this.onChange("edit");
      }
      this.render();
    });
  }

  // Nudge the selected object with the arrow keys (by one image pixel, ten with Shift).
  nudge(dx, dy) {
    const obj = this.object(this.selected);
    const g = obj?.frames[this.frame];
    const view = this.views.find((v) => v.sensor === (g?.sensor || null)) || this.views[0];
    if (!g) return false;
    this.change(() => { g.points = g.points.map(([x, y]) => [clamp(x + dx / view.width), clamp(y + dy / view.height)]); });
    return true;
  }

  // --- drawing the SVG layers

  colorOf(label) {
    let h = 0;
    for (const c of label || "") h = (h * 31 + c.charCodeAt(0)) % 360;
    return `hsl(${h} 85% 55%)`;
  }

  render() {
    for (const view of this.views) this.renderView(view);
  }

  renderView(view) {
    const svg = view.svg;
    svg.replaceChildren();
    const w = view.width, h = view.height;
    const px = (p) => `${p[0] * w},${p[1] * h}`;
    for (const obj of this.objects) {
      const g = obj.frames[this.frame];
      if (!g || (g.sensor || null) !== view.sensor) continue;
      const selected = obj.id === this.selected;
      const attrs = { "data-id": obj.id, "data-shape": obj.shape, class: "shape" + (selected ? " selected" : ""), stroke: this.colorOf(obj.label) };
      let node;
      if (obj.shape === "rectangle") {
        const [[x1, y1], [x2, y2]] = g.points;
        node = el("rect", { ...attrs, x: Math.min(x1, x2) * w, y: Math.min(y1, y2) * h, width: Math.abs(x2 - x1) * w, height: Math.abs(y2 - y1) * h }, SVG);
      } else if (obj.shape === "polygon") node = el("polygon", { ...attrs, points: g.points.map(px).join(" ") }, SVG);
      else if (obj.shape === "line") node = el("polyline", { ...attrs, points: g.points.map(px).join(" ") }, SVG);
      else if (obj.shape === "landmark" || obj.shape === "cuboid") {
        node = el("g", attrs, SVG);
        for (const p of g.points) node.append(el("circle", { "data-id": obj.id, cx: p[0] * w, cy: p[1] * h, r: 5 / view.zoom, class: "point", fill: attrs.stroke }, SVG));
      }
      const title = el("title", { text: obj.label || "" }, SVG);
      node.append(title);
      svg.append(node);
      if (selected && !this.readonly) this.renderHandles(view, obj, g);
    }
    const d = this.drawing;
    if (d && d.view === view) {
      const points = d.points.map(px).join(" ");
      if (d.shape === "rectangle") {
        const [[x1, y1], [x2, y2]] = d.points;
        svg.append(el("rect", { class: "drawing", x: Math.min(x1, x2) * w, y: Math.min(y1, y2) * h, width: Math.abs(x2 - x1) * w, height: Math.abs(y2 - y1) * h }, SVG));
      } else svg.append(el("polyline", { class: "drawing", points }, SVG));
    }
  }

  renderHandles(view, obj, g) {
    const size = 9 / view.zoom;
    const handle = (x, y, key) => view.svg.append(el("rect", {
      class: "handle", "data-id": obj.id, "data-handle": key,
      x: x * view.width - size / 2, y: y * view.height - size / 2, width: size, height: size,
    }, SVG));
    if (obj.shape === "rectangle") {
      // corner = (x from point i, y from point j)
      for (const [i, j] of [[0, 0], [1, 0], [1, 1], [0, 1]]) handle(g.points[i][0], g.points[j][1], `${i},${j}`);
    } else if (obj.shape !== "cuboid") {
      g.points.forEach(([x, y], i) => handle(x, y, `${i},${i}`));
    }
  }
}
