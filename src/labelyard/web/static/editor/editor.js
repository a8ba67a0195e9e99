// The annotation editor on a page: the model, a view per sensor, their pointer input, and
// redrawing whenever the model changes.
import { attach } from "./input.js";
import { EditorModel, sensorName, sensorsOf, sourceOf } from "./model.js";
import { renderView } from "./render.js";
import { View } from "./view.js";

export class Editor {
  // host: an element; job: {base, data, draft, schema}; options: {readonly, onChange(kind)}
  // where kind is one of the model's (see model.js) but "draw".
  constructor(host, job, options = {}) {
    this.host = host;
    this.readonly = Boolean(options.readonly);
    const onChange = options.onChange || (() => {});
    this.views = [];
    this.model = new EditorModel(job, (kind) => {
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
    const callbacks = {
      onLoad: () => this.render(),
      onZoom: (view) => renderView(view, this.model, this.readonly),
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
    for (const view of this.views) renderView(view, this.model, this.readonly);
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
