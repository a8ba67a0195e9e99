// A view: one image (of a sensor, or the job's only one) with its SVG layer, zoom and pan.
import { el, SVG } from "./dom.js";

export class View {
  // host: the element to add the view to; sensor: the camera shown, else null; name: its
  // caption (null for none); onLoad(view) runs when an image has loaded, onZoom(view) after a
  // zoom or fit, onError(view, src) when an image cannot be shown (the view then says so).
  constructor(host, sensor, name, { onLoad, onZoom, onError }) {
    this.sensor = sensor;
    this.onZoom = onZoom;
    this.root = el("div", { class: "view", "data-sensor": sensor || "" });
    if (name) this.root.append(el("div", { class: "view-name", text: name }));
    this.stage = el("div", { class: "stage" });
    this.image = el("img", { class: "frame-image", alt: "", draggable: "false" });
    this.svg = el("svg", { class: "overlay" }, SVG);
    // The segmentation mask, one canvas pixel per image pixel, under the shapes.
    this.mask = el("canvas", { class: "mask-layer", width: 1, height: 1 });
    this.mask.hidden = true;
    this.stage.append(this.image, this.mask, this.svg);
    this.problem = el("div", { class: "view-problem", role: "alert" });
    this.problem.hidden = true;
    // The message is read, selected and clicked, never drawn on.
    for (const kind of ["pointerdown", "wheel", "dblclick"]) {
      this.problem.addEventListener(kind, (e) => e.stopPropagation());
    }
    this.root.append(this.stage, this.problem);
    this.onError = onError || (() => {});
    host.append(this.root);
    this.zoom = 1;
    this.x = 0;
    this.y = 0;
    this.fitted = false;
    this.image.addEventListener("load", () => {
      const { naturalWidth: width, naturalHeight: height } = this.image;
      this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
      this.svg.setAttribute("width", width);
      this.svg.setAttribute("height", height);
      this.mask.width = width;
      this.mask.height = height;
      if (!this.fitted) this.fit();
      onLoad(this);
      this.root.classList.add("loaded");
    });
    this.image.addEventListener("error", () => {
      if (this.image.getAttribute("src")) this.failed(this.image.getAttribute("src"));
    });
    this.root.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        this.zoomBy(Math.exp(-e.deltaY / 500), e.clientX, e.clientY);
      },
      { passive: false },
    );
    this.root.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  show(src) {
    if (this.image.getAttribute("src") === src && !this.problem.hidden) return;
    if (this.image.getAttribute("src") !== src) {
      this.root.classList.remove("loaded", "failed");
      this.problem.hidden = true;
      if (src && !/^(https?:|data:|blob:|\/)/i.test(src)) {
        // A link the browser cannot open at all (s3://, gs:// no connection signed).
        this.image.removeAttribute("src");
        this.failed(src);
        return;
      }
      this.image.src = src || "";
    }
  }

  failed(src) {
    this.root.classList.remove("loaded");
    this.root.classList.add("failed");
    this.explain(src, "The image could not be loaded.");
    this.onError(this, src);
  }

  // Say in the view which media could not be shown and why; `skip(reason)`, if given, is
  // offered as a button with an editable reason.
  explain(src, reason, skip = null) {
    const url = String(src).split("?")[0];
    const parts = [
      el("strong", { text: "This image cannot be shown" }),
      el("code", { class: "problem-url", text: url }),
      el("p", { class: "problem-reason", text: reason }),
    ];
    if (skip) {
      const why = el("input", { class: "problem-skip-reason", "aria-label": "Reason to skip" });
      why.value = `Media cannot be loaded: ${reason}`;
      const button = el("button", { type: "button", class: "problem-skip", text: "Skip this job" });
      button.addEventListener("click", () => skip(why.value.trim() || reason));
      parts.push(why, button);
    }
    this.problem.replaceChildren(...parts);
    this.problem.hidden = false;
  }

  get width() {
    return this.image.naturalWidth || 1;
  }

  get height() {
    return this.image.naturalHeight || 1;
  }

  fit() {
    const box = this.root.getBoundingClientRect();
    if (!this.image.naturalWidth || !box.width) return;
    this.zoom = Math.min(box.width / this.width, box.height / this.height);
    this.x = (box.width - this.width * this.zoom) / 2;
    this.y = (box.height - this.height * this.zoom) / 2;
    this.fitted = true;
    this.apply();
    this.onZoom(this);
  }

  apply() {
    this.stage.style.transform = `translate(${this.x}px, ${this.y}px) scale(${this.zoom})`;
    this.svg.style.setProperty("--stroke", String(2 / this.zoom));
  }

  panTo(x, y) {
    this.x = x;
    this.y = y;
    this.apply();
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
    this.onZoom(this);
  }

  // A pointer position as normalised image coordinates.
  at(e) {
    const r = this.image.getBoundingClientRect();
    return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];
  }
}
