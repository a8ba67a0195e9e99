// Reference images (API.md 3.7): pictures beside the main view that help the annotator (other
// angles, a close-up), never annotated. `data.reference_data.raster.images[]` holds
// `{image_url, label}` (shown on every frame) or, for a video, `{frame_id, data: [{label,
// image_url}]}` (shown on that frame).
import { el } from "./dom.js";

// The reference images to show on `frame` (null for a single-image job): [{label, url}].
export function referencesFor(data, frame) {
  const images = data?.reference_data?.raster?.images;
  if (!Array.isArray(images)) return [];
  const found = [];
  const add = (item) => {
    if (item && typeof item.image_url === "string" && item.image_url) {
      found.push({ label: typeof item.label === "string" ? item.label : "", url: item.image_url });
    }
  };
  for (const item of images) {
    if (item && Array.isArray(item.data)) {
      if (frame !== null && String(item.frame_id) === String(frame)) item.data.forEach(add);
    } else add(item);
  }
  return found;
}

// Fill `strip` with the thumbnails of `references`; `open(reference)` on a click. The strip's
// `hidden` says whether there are any.
export function refreshReferences(strip, references, open) {
  const key = references.map((r) => `${r.label}\n${r.url}`).join("\n");
  strip.hidden = references.length === 0;
  if (strip.dataset.key === key) return;
  strip.dataset.key = key;
  strip.replaceChildren(
    ...references.map((reference, i) => {
      const button = el("button", {
        type: "button",
        class: "reference",
        title: `Enlarge ${reference.label || `reference ${i + 1}`}`,
      });
      const image = el("img", {
        class: "reference-thumb",
        src: reference.url,
        alt: reference.label || "",
        loading: "lazy",
      });
      button.append(image, el("span", { text: reference.label || `reference ${i + 1}` }));
      button.addEventListener("click", () => open(reference));
      return button;
    }),
  );
}

// Show one reference large in `dialog` (an HTML <dialog> with an <img> and a <figcaption>);
// a click anywhere or Esc closes it.
export function enlarge(dialog, reference) {
  dialog.querySelector("img").src = reference.url;
  dialog.querySelector("figcaption").textContent = reference.label;
  if (!dialog.open) dialog.showModal();
}
