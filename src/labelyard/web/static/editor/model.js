// The editor's model: a job's objects on its frames, the selection, the tool and label in use,
// a shape being drawn, and the undo/redo history. It knows nothing of the page: every change
// is announced to `onChange(kind)`, where kind is
//   "edit"   the objects changed (undoable),
//   "select" the selection changed,
//   "frame"  another frame is shown,
//   "tool"   another tool is in use,
//   "draw"   only the picture changed (a shape being drawn or dragged, a mask painted: the
//            stroke is an "edit" when it ends), nothing to save,
//   "cursor" only the brush outline under the pointer moved.
// A sensor is a camera of a SENSOR_FUSION job; other jobs have the one sensor null.
import { fromAnnotations, otherTrackers, toAnnotations } from "./annotations.js";
import { dropRepeats, nudge } from "./geometry.js";
import { applyLastSegment, applyStroke, copyMask, emptyMask } from "./raster.js";

export const HISTORY_LIMIT = 200;
export const SHAPES = ["rectangle", "polygon", "line", "landmark"];
// The mask tools of SEGMENTATION jobs: paint, erase, fill a polygon into the mask.
export const MASK_TOOLS = ["brush", "eraser", "fill"];
export const BRUSH_SIZES = [1, 100];
export const MAX_LEGEND = 255;

// A legend entry: the class, and " # n" for instance n (0: the class as a whole).
export const legendEntry = (label, instance) => (instance ? `${label} # ${instance}` : label);

function newId(taken) {
  let id;
  do id = `o${Math.random().toString(36).slice(2, 10)}`;
  while (taken.has(id));
  return id;
}

const copy = (value) => JSON.parse(JSON.stringify(value));

// A job shown frame by frame from its video_data: VIDEO, and SEGMENTATION of a video.
export const isVideo = (job) =>
  job.base === "VIDEO" || (job.base === "SEGMENTATION" && Boolean(job.data?.video_data));

// The ids of a job's frames, as strings ("0" for a job of one image).
export function frameIds(job) {
  const d = job.data || {};
  if (isVideo(job)) return (d.video_data?.frames || []).map((f) => String(f.frame_id));
  if (job.base === "SENSOR_FUSION") {
    return (d.sensor_data?.frames || []).map((f) => String(f.frame_id));
  }
  return ["0"];
}

// The sensors a job's views show: its cameras (SENSOR_FUSION), else the one view of null.
export function sensorsOf(job) {
  if (job.base !== "SENSOR_FUSION") return [null];
  const meta = job.data?.sensor_data?.sensor_meta || [];
  return meta.filter((m) => m.modality === "camera").map((m) => m.id);
}

export function sensorName(job, id) {
  const meta = (job.data?.sensor_data?.sensor_meta || []).find((m) => m.id === id);
  return meta?.name || id;
}

// The image URL a sensor's view shows on a frame.
export function sourceOf(job, sensor, frame) {
  const d = job.data || {};
  if (isVideo(job)) {
    return d.video_data.frames.find((f) => String(f.frame_id) === frame)?.src;
  }
  if (job.base === "SENSOR_FUSION") {
    const f = d.sensor_data.frames.find((x) => String(x.frame_id) === frame);
    return f?.sensors?.find((s) => s.sensor_id === sensor)?.data_url;
  }
  return d.image_url;
}

export class EditorModel {
  // job: {base, data, draft, schema}; onChange(kind) hears of every change.
  constructor(job, onChange = () => {}) {
    this.onChange = onChange;
    this.tool = "select";
    this.label = null;
    this.brushSize = 8; // radius, in image pixels
    this.instance = 0;
    this.load(job);
  }

  // Start over on a job (announces nothing: the caller shows its first frame).
  load(job) {
    this.job = job;
    this.base = job.base;
    this.classes = job.schema?.classes || [];
    this.frames = frameIds(job);
    this.frame = this.frames[0];
    this.objects = fromAnnotations(this.base, job.draft);
    this.others = otherTrackers(this.base, job.draft);
    this.selected = null;
    this.drawing = null;
    this.past = [];
    this.future = [];
    this.segmentation = job.base === "SEGMENTATION";
    // A video's segmentation is masks only, frame by frame (no shapes).
    this.masksOnly = this.segmentation && isVideo(job);
    if (!this.allows(this.tool)) this.tool = "select";
    // Masks by frame: {width, height, base (a mask: pre-labels or the draft), strokes, count,
    // id, attributes}; strokes past `count` are undone ones. legend[v - 1] is value v's entry.
    this.masks = {};
    this.legend = [];
    this.label = this.defaultLabel(this.tool === "select" ? "rectangle" : this.tool);
  }

  // --- frames

  showFrame(frame) {
    if (!this.frames.includes(frame)) return false;
    this.frame = frame;
    this.onChange("frame");
    return true;
  }

  step(delta) {
    const i = this.frames.indexOf(this.frame) + delta;
    const inside = i >= 0 && i < this.frames.length;
    if (inside) this.showFrame(this.frames[i]);
    return inside;
  }

  // --- labels and attributes

  classesFor(shape) {
    if (MASK_TOOLS.includes(shape)) return this.classes; // any class may be painted
    return this.classes.filter((c) => !c.shapes?.length || c.shapes.includes(shape));
  }

  classOf(name) {
    return this.classes.find((c) => c.name === name) || null;
  }

  defaultLabel(shape) {
    const allowed =
      !this.classes.length || this.classesFor(shape).some((c) => c.name === this.label);
    if (this.label && allowed) return this.label;
    const first = this.classesFor(shape)[0];
    if (first) return first.name;
    return this.classes.length ? "" : "object";
  }

  // Objects of a class marked `tracked: false` live on one frame only.
  tracked(obj) {
    return this.classOf(obj.label)?.tracked !== false;
  }

  // --- changes (each undoable)

  snapshot() {
    const counts = Object.fromEntries(Object.entries(this.masks).map(([f, m]) => [f, m.count]));
    return JSON.stringify({ objects: this.objects, masks: counts });
  }

  change(fn) {
    const before = this.snapshot();
    fn();
    this.commit(before);
  }

  // Keep `before` (a snapshot) in the history if the objects changed since.
  commit(before) {
    if (this.snapshot() === before) return false;
    this.past.push(before);
    if (this.past.length > HISTORY_LIMIT) this.past.shift();
    this.future = [];
    this.onChange("edit");
    return true;
  }

  undo() {
    this.travel(this.past, this.future);
  }

  redo() {
    this.travel(this.future, this.past);
  }

  travel(from, to) {
    if (!from.length) return;
    to.push(this.snapshot());
    const state = JSON.parse(from.pop());
    this.objects = state.objects;
    for (const [frame, count] of Object.entries(state.masks)) {
      const m = this.masks[frame];
      if (m && m.count !== count) {
        m.count = count;
        m.current = null;
      }
    }
    if (this.selected && !this.object(this.selected)) this.selected = null;
    this.onChange("edit");
  }

  object(id) {
    return this.objects.find((o) => o.id === id) || null;
  }

  // The geometry of an object on the current frame, or null.
  geometry(id) {
    return this.object(id)?.frames[this.frame] || null;
  }

  add(shape, points, sensor = null) {
    const label = this.defaultLabel(shape);
    const taken = new Set(this.objects.map((o) => o.id));
    const obj = { id: newId(taken), shape, label, attributes: {}, frames: {}, extra: {} };
    obj.frames[this.frame] = { points, sensor };
    this.change(() => this.objects.push(obj));
    this.select(obj.id);
    return obj;
  }

  remove(id) {
    this.change(() => {
      this.objects = this.objects.filter((o) => o.id !== id);
    });
    if (this.selected === id) this.select(null);
  }

  // Delete the selected object on this frame only (tracked), or entirely.
  removeSelected() {
    const obj = this.object(this.selected);
    if (!obj?.frames[this.frame]) return; // not drawn on this frame: nothing to delete here
    if (this.frames.length > 1 && Object.keys(obj.frames).length > 1) {
      this.change(() => {
        delete obj.frames[this.frame];
      });
    } else this.remove(obj.id);
  }

  setLabel(id, label) {
    this.label = label;
    const obj = this.object(id);
    if (!obj) return;
    this.change(() => {
      obj.label = label;
      obj.attributes = {};
    });
  }

  setAttribute(id, name, value) {
    const obj = this.object(id);
    if (!obj) return;
    this.change(() => {
      if (value === undefined) delete obj.attributes[name];
      else obj.attributes[name] = value;
    });
  }

  select(id) {
    this.selected = id;
    const obj = this.object(id);
    if (obj) this.label = obj.label;
    this.onChange("select");
  }

  // Whether a tool is of use on this job.
  allows(tool) {
    if (MASK_TOOLS.includes(tool)) return this.segmentation;
    return !(this.masksOnly && SHAPES.includes(tool));
  }

  setTool(tool) {
    if (!this.allows(tool)) return false;
    this.cancelDrawing();
    this.tool = tool;
    if (tool !== "select") this.label = this.defaultLabel(tool);
    this.onChange("tool");
    return true;
  }

  // Set an object's points on this frame without keeping history (a drag under way; commit a
  // snapshot taken before it when it ends).
  move(id, points) {
    const g = this.geometry(id);
    if (!g) return;
    g.points = points;
    this.onChange("draw");
  }

  // Nudge the selected object by (dx, dy) in normalised units.
  nudgeSelected(dx, dy) {
    const g = this.geometry(this.selected);
    if (!g) return false;
    this.change(() => {
      g.points = nudge(g.points, dx, dy);
    });
    return true;
  }

  // Copy the selected object (or every object of this frame) to the next frame, then go there.
  copyToNextFrame() {
    const i = this.frames.indexOf(this.frame);
    if (i < 0 || i + 1 >= this.frames.length) return false;
    const next = this.frames[i + 1];
    const chosen = this.selected
      ? [this.object(this.selected)]
      : this.objects.filter((o) => o.frames[this.frame]);
    this.change(() => {
      for (const obj of chosen) {
        if (obj?.frames[this.frame] && !obj.frames[next] && this.tracked(obj)) {
          obj.frames[next] = copy(obj.frames[this.frame]);
        }
      }
    });
    this.showFrame(next);
    return true;
  }

  // --- a shape being drawn: {sensor, shape, points}

  startDrawing(sensor, shape, points) {
    this.drawing = { sensor, shape, points };
    this.onChange("draw");
  }

  // A polygon's or line's next point (a click); a click in another view starts over there.
  addDrawingPoint(sensor, point) {
    const d = this.drawing;
    if (!d || d.sensor !== sensor) this.drawing = { sensor, shape: this.tool, points: [] };
    this.drawing.points.push(point);
    this.onChange("draw");
  }

  // Set the last point of the shape being drawn (a rectangle's dragged corner).
  setDrawingEnd(point) {
    if (!this.drawing) return;
    this.drawing.points[this.drawing.points.length - 1] = point;
    this.onChange("draw");
  }

  // Make the shape being drawn an object, if it has enough points (polygon 3, line 2).
  finishDrawing() {
    const d = this.drawing;
    if (!d) return null;
    const min = d.shape === "polygon" || d.shape === "fill" ? 3 : 2;
    const points = dropRepeats(d.points);
    this.drawing = null;
    if (d.shape === "fill") {
      if (points.length < min || !this.fillPolygon(points)) this.onChange("draw");
      return null;
    }
    if (points.length >= min) return this.add(d.shape, points, d.sensor);
    this.onChange("draw");
    return null;
  }

  cancelDrawing() {
    if (!this.drawing) return;
    this.drawing = null;
    this.onChange("draw");
  }

  // --- masks (SEGMENTATION)

  // The value of a legend entry, added to the legend if new; null when the legend is full (a
  // mask keeps a byte per pixel: at most 255 classes and instances in a job).
  legendValue(entry) {
    let i = this.legend.indexOf(entry);
    if (i < 0) {
      if (this.legend.length >= MAX_LEGEND) return null;
      i = this.legend.push(entry) - 1;
    }
    return i + 1;
  }

  // The mask of a frame, made (empty) with the image's size when it is first shown.
  maskOf(frame, width, height) {
    if (!this.masks[frame] && width && height) {
      this.masks[frame] = {
        width,
        height,
        base: emptyMask(width, height),
        strokes: [],
        count: 0,
        current: null,
        id: null,
        attributes: {},
      };
    }
    return this.masks[frame] || null;
  }

  // The labels of a frame's mask now: its base with the strokes not undone (kept until undo
  // or redo change them).
  labels(frame) {
    const m = this.masks[frame];
    if (!m) return null;
    if (!m.current) {
      m.current = copyMask(m.base);
      for (const stroke of m.strokes.slice(0, m.count)) applyStroke(m.current, stroke);
    }
    return m.current;
  }

  // Start a frame's mask from `base` (pre-labels or the saved draft); its id and attributes
  // are kept for the result. Strokes already painted stay on top.
  setMaskBase(frame, base, { id = null, attributes = {} } = {}) {
    const m = this.maskOf(frame, base.width, base.height);
    if (m.width !== base.width || m.height !== base.height) return false;
    m.base = base;
    m.id = id;
    m.attributes = attributes;
    m.current = null;
    this.onChange("draw");
    return true;
  }

  // Where the pointer is over a view while a brush or the eraser is in use (null: elsewhere),
  // to show the brush there.
  setCursor(sensor, point) {
    const cursor = point && MASK_TOOLS.includes(this.tool) ? { sensor, point } : null;
    if (!cursor && !this.cursor) return;
    this.cursor = cursor;
    this.onChange("cursor");
  }

  setBrushSize(size) {
    this.brushSize = Math.min(BRUSH_SIZES[1], Math.max(BRUSH_SIZES[0], Math.round(size)));
    this.onChange("tool");
  }

  setInstance(n) {
    this.instance = Math.max(0, Math.floor(Number(n) || 0));
  }

  // A stroke of the brush or eraser (or a polygon fill) begins at `point` (normalised).
  beginStroke(kind, point, points = null) {
    const m = this.masks[this.frame];
    if (!m || (kind !== "eraser" && !this.label)) return false;
    const value = kind === "eraser" ? 0 : this.legendValue(legendEntry(this.label, this.instance));
    if (value === null) return false;
    this.strokeBefore = this.snapshot();
    const labels = this.labels(this.frame);
    m.strokes.length = m.count; // what was undone is gone
    const stroke = { kind, value, radius: this.brushSize, points: points || [point] };
    m.strokes.push(stroke);
    m.count += 1;
    if (kind === "fill") applyStroke(labels, stroke);
    else applyLastSegment(labels, stroke);
    this.onChange("draw");
    return true;
  }

  extendStroke(point) {
    const m = this.masks[this.frame];
    const stroke = m?.strokes[m.count - 1];
    if (!stroke || this.strokeBefore === undefined) return;
    stroke.points.push(point);
    applyLastSegment(this.labels(this.frame), stroke);
    this.onChange("draw");
  }

  endStroke() {
    if (this.strokeBefore === undefined) return;
    const before = this.strokeBefore;
    this.strokeBefore = undefined;
    this.commit(before);
  }

  // Fill a polygon (normalised points) into the mask with the class in use.
  fillPolygon(points) {
    if (points.length < 3 || !this.beginStroke("fill", null, points)) return false;
    this.endStroke();
    return true;
  }

  // --- what the page sends

  annotations() {
    const drawn = toAnnotations(this.base, this.objects);
    return this.others.length ? [...drawn, ...this.others] : drawn;
  }

  // What still keeps the annotations from being valid: a class or a required attribute not set.
  missing() {
    for (const obj of this.objects) {
      if (!obj.label) return `a ${obj.shape} has no class`;
      if (!this.tracked(obj) && Object.keys(obj.frames).length > 1) {
        return `${obj.label} objects are not tracked: keep one frame`;
      }
      for (const a of this.classOf(obj.label)?.attributes || []) {
        const v = obj.attributes[a.name];
        if (a.required && (v === undefined || v === "" || (Array.isArray(v) && !v.length))) {
          return `${obj.label}: ${a.name} is required`;
        }
      }
    }
    return null;
  }
}
