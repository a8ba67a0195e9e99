// The annotation editor on a page: the model, a view per sensor, their pointer input, and
// redrawing whenever the model changes.
import { attach } from "./input.js";
import { EditorModel, sensorName, sensorsOf, sourceOf } from "./model.js";
import { fromRGBA, isEmpty, legendColours, toRGBA } from "./raster.js";
import { renderView } from "./render.js";
import { View } from "./view.js";

export class Editor {
  // host: an element; job: {base, data, draft, schema}; options: {readonly, onChange(kind),
  // onMediaError(view, src)} where kind is one of the model's (see model.js) but "draw".
  constructor(host, job, options = {}) {
    this.host = host;
    this.readonly = Boolean(options.readonly);
    this.onMediaError = options.onMediaError || (() => {});
    const onChange = options.onChange || (() => {});
    this.views = [];
    this.model = new EditorModel(job, (kind) => {
      if (kind === "cursor") {
        for (const view of this.views) renderView(view, this.model, this.readonly);
        return;
      }
      if (kind === "frame") this.showSources();
      if (kind === "tool") this.host.dataset.tool = this.model.tool;
      this.render();
      if (kind !== "draw") onChange(kind);
    });
    this.open(job);
  }

  // Open another job.
  load(job) {
    this.model.load(job);
    this.open(job);
  }

  // The views of the model's job, and its first frame.
  open(job) {
    this.host.replaceChildren();
    const sensors = sensorsOf(job);
    this.host.classList.toggle("multi", sensors.length > 1);
    this.masksLoaded = new Set();
    const callbacks = {
      onLoad: (view) => {
        this.loadMask(view);
        this.render();
      },
      onZoom: (view) => renderView(view, this.model, this.readonly),
      onError: (view, src) => this.onMediaError(view, src),
    };
    this.views = sensors.map((sensor) => {
      const name = sensor ? sensorName(job, sensor) : null;
      const view = new View(this.host, sensor, name, callbacks);
      attach(this.model, view, this.readonly);
      return view;
    });
    this.model.showFrame(this.model.frame);
  }

  showSources() {
    for (const view of this.views) {
      view.show(sourceOf(this.model.job, view.sensor, this.model.frame));
    }
  }

  render() {
    for (const view of this.views) {
      renderView(view, this.model, this.readonly);
      this.renderMask(view);
    }
  }

  // --- masks (SEGMENTATION): the model keeps the labels, a canvas per view shows them

  renderMask(view) {
    const model = this.model;
    const labels = model.segmentation && view.image.naturalWidth ? model.labels(model.frame) : null;
    view.mask.hidden = !labels;
    if (!labels || labels.width !== view.mask.width || labels.height !== view.mask.height) return;
    const pixels = toRGBA(labels, legendColours(model.legend.length));
    view.mask
      .getContext("2d")
      .putImageData(new ImageData(pixels, labels.width, labels.height), 0, 0);
  }

  // The frame's mask, the size of its image; started from the saved draft's mask, else from
  // the job's raster pre-labels (maker_response.raster.data: {url, legend}).
  loadMask(view) {
    const model = this.model;
    const frame = model.frame;
    if (!model.segmentation || view.sensor !== null) return;
    model.maskOf(frame, view.image.naturalWidth, view.image.naturalHeight);
    if (this.masksLoaded.has(frame)) return;
    this.masksLoaded.add(frame);
    const saved = (model.job.draft?.masks || []).find((m) => (m.frame_id || "0") === frame);
    const raster = model.job.data?.maker_response?.raster?.data;
    const source = saved
      ? { url: saved.png.startsWith("data:") ? saved.png : `data:image/png;base64,${saved.png}` }
      : raster?.url && frame === model.frames[0]
        ? raster
        : null;
    if (!source) return;
    const legend = saved ? saved.legend : raster.legend;
    const image = new Image();
    image.crossOrigin = "anonymous";
    image.addEventListener("load", () => {
      const { naturalWidth: w, naturalHeight: h } = image;
      const canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(image, 0, 0);
      const rgba = context.getImageData(0, 0, w, h).data;
      const base = fromRGBA(rgba, w, h, legend, (entry) => model.legendValue(entry));
      const meta = saved ? { id: saved._id, attributes: saved.attributes || {} } : {};
      if (!model.setMaskBase(frame, base, meta)) {
        this.onMaskError?.(`the mask is ${w}×${h}, the image is not: it was not loaded`);
      }
    });
    image.addEventListener("error", () => {
      this.onMaskError?.(`the pre-labelled mask could not be read: ${source.url}`);
    });
    image.src = source.url;
  }

  // The annotations to send: the model's shapes, plus each frame's mask as a PNG and legend.
  annotations() {
    const model = this.model;
    const out = model.annotations();
    if (!model.segmentation) return out;
    const colours = legendColours(model.legend.length);
    out.masks = [];
    for (const frame of Object.keys(model.masks)) {
      const labels = model.labels(frame);
      if (isEmpty(labels)) continue;
      // the legend of the entries this mask uses
      const used = new Set(labels.data);
      const legend = Object.fromEntries(
        model.legend.map((entry, i) => [colours[i], entry]).filter((_, i) => used.has(i + 1)),
      );
      const canvas = document.createElement("canvas");
      canvas.width = labels.width;
      canvas.height = labels.height;
      const pixels = toRGBA(labels, colours);
      canvas
        .getContext("2d")
        .putImageData(new ImageData(pixels, labels.width, labels.height), 0, 0);
      const m = model.masks[frame];
      out.masks.push({
        _id: m.id || `mask-${frame}`,
        frame_id: frame,
        attributes: m.attributes,
        legend,
        png: canvas.toDataURL("image/png"),
      });
    }
    return out;
  }

  zoomBy(factor) {
    for (const view of this.views) view.zoomBy(factor);
  }

  fit() {
    for (const view of this.views) view.fit();
  }

  // Nudge the selected object by (dx, dy) pixels of the image it is drawn on.
  nudge(dx, dy) {
    const g = this.model.geometry(this.model.selected);
    if (!g) return false;
    const view = this.views.find((v) => v.sensor === (g.sensor || null)) || this.views[0];
    return this.model.nudgeSelected(dx / view.width, dy / view.height);
  }
}
