// The frame strip: a button per frame, the current one marked, annotated ones underlined; the
// selected object's keyframes and in-between frames marked.
import { el } from "./dom.js";
import { frameKinds } from "./interpolation.js";

export function refreshFrameStrip(strip, model) {
  if (!strip || model.frames.length < 2) return;
  const key = model.frames.join("\n");
  if (strip.dataset.frames !== key) {
    strip.dataset.frames = key;
    strip.replaceChildren(
      ...model.frames.map((fid, i) => {
        const attrs = { type: "button", title: `frame ${fid}`, "data-frame": fid };
        const button = el("button", { ...attrs, text: String(i + 1) });
        button.addEventListener("click", () => model.showFrame(fid));
        return button;
      }),
    );
  }
  const used = new Set(model.objects.flatMap((o) => Object.keys(o.frames)));
  for (const [frame, mask] of Object.entries(model.masks)) {
    if (mask.count || mask.id) used.add(frame); // painted, or a saved mask
  }
  const selected = model.object(model.selected);
  const kinds = selected && model.interpolates(selected) ? frameKinds(selected, model.frames) : {};
  for (const button of strip.children) {
    button.setAttribute("aria-current", String(button.dataset.frame === model.frame));
    button.classList.toggle("annotated", used.has(button.dataset.frame));
    button.classList.toggle("keyframe", kinds[button.dataset.frame] === "key");
    button.classList.toggle("interpolated", kinds[button.dataset.frame] === "interpolated");
  }
}
