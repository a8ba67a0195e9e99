// A consensus job's versions side by side: the job's image once per version (the merge
// first), each version's shapes drawn over it in its class colour, with "Pick" (accept that
// version as it is) and "Correct" (open it in the editor) under each.
import { fromAnnotations } from "../editor/annotations.js";
import { colorOf } from "../editor/geometry.js";
import { sourceOf } from "../editor/model.js";

const SVG = "http://www.w3.org/2000/svg";

// The shapes to draw of one version on one frame: {shape, label, points} in [0, 1].
export function drawable(base, annotations, frame = "0") {
  return fromAnnotations(base, annotations)
    .filter((o) => o.frames[frame]?.points)
    .map((o) => ({ shape: o.shape, label: o.label, points: o.frames[frame].points }));
}

// How many objects of each class a version has, as "car 2 · person 1".
export function classCounts(shapes) {
  const counts = new Map();
  for (const s of shapes) counts.set(s.label, (counts.get(s.label) || 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => String(a).localeCompare(String(b)))
    .map(([label, n]) => `${label} ${n}`)
    .join(" · ");
}

function element(name, attributes) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

const joined = (points) => points.map(([x, y]) => `${x},${y}`).join(" ");

function shapeNode({ shape, label, points }) {
  const style = {
    stroke: colorOf(label),
    "stroke-width": 2,
    "vector-effect": "non-scaling-stroke",
    "data-label": label,
    "data-shape": shape,
  };
  if (shape === "rectangle") {
    const [[x1, y1], [x2, y2]] = points;
    return element("rect", {
      ...style,
      x: Math.min(x1, x2),
      y: Math.min(y1, y2),
      width: Math.abs(x2 - x1),
      height: Math.abs(y2 - y1),
      fill: colorOf(label),
      "fill-opacity": 0.15,
    });
  }
  if (shape === "polygon") {
    return element("polygon", {
      ...style,
      points: joined(points),
      fill: colorOf(label),
      "fill-opacity": 0.15,
    });
  }
  if (shape === "landmark") {
    const group = element("g", style);
    for (const [x, y] of points) group.append(element("circle", { cx: x, cy: y, r: 0.008 }));
    group.setAttribute("fill", colorOf(label));
    return group;
  }
  return element("polyline", { ...style, points: joined(points), fill: "none" });
}

// One version's image with its shapes (viewBox: the unit square, stretched to the image's
// aspect once the image is known).
function overlay(src, shapes, aspect) {
  const svg = element("svg", {
    viewBox: "0 0 1 1",
    preserveAspectRatio: "none",
    role: "img",
    class: "version-overlay",
  });
  svg.style.aspectRatio = String(aspect);
  if (src) {
    svg.append(
      element("image", { href: src, x: 0, y: 0, width: 1, height: 1, preserveAspectRatio: "none" }),
    );
  }
  for (const shape of shapes) svg.append(shapeNode(shape));
  return svg;
}

function button(text, title, onClick) {
  const node = document.createElement("button");
  node.type = "button";
  node.textContent = text;
  node.title = title;
  node.addEventListener("click", onClick);
  return node;
}

// Fill `strip` with one card a version; hidden when the job has no versions. `pick(annotations)`
// accepts one as is, `correct(annotations)` opens it in the editor.
export function refreshVersionStrip(strip, job, frame, { pick, correct }) {
  const versions = job.versions || [];
  strip.hidden = versions.length === 0;
  strip.replaceChildren();
  if (!versions.length) return;
  const src = sourceOf(job, null, frame);
  const columns = [
    ["Merged", "the merge of the versions", job.draft],
    ...versions.map((v, i) => [`Version ${i + 1}`, `worker ${v.worker_id}`, v.annotations]),
  ];
  const cards = columns.map(([name, who, annotations], index) => {
    const shapes = drawable(job.base, annotations, frame);
    const card = document.createElement("figure");
    card.className = "version-card";
    card.dataset.version = String(index);
    const caption = document.createElement("figcaption");
    const title = document.createElement("strong");
    title.textContent = name;
    title.title = who;
    const summary = document.createElement("span");
    summary.className = "muted";
    summary.textContent = `${shapes.length} objects${shapes.length ? `: ${classCounts(shapes)}` : ""}`;
    caption.append(title, " ", summary);
    const actions = document.createElement("div");
    actions.className = "version-actions";
    actions.append(
      button("Pick", `Accept ${name} as it is`, () => pick(annotations)),
      button("Correct", `Open ${name} in the editor to correct it`, () => {
        for (const other of strip.querySelectorAll(".version-card")) {
          other.classList.toggle("chosen", other === card);
        }
        correct(annotations);
      }),
    );
    card.append(overlay(src, shapes, 4 / 3), caption, actions);
    return card;
  });
  strip.append(...cards);
  // One row: every version at once, however many (2..10).
  strip.style.gridTemplateColumns = `repeat(${cards.length}, minmax(0, 1fr))`;
  if (src) {
    const probe = new Image();
    probe.onload = () => {
      const aspect = probe.naturalWidth / probe.naturalHeight || 4 / 3;
      for (const svg of strip.querySelectorAll("svg")) svg.style.aspectRatio = String(aspect);
    };
    probe.src = src;
  }
}
