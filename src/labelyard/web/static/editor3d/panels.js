// The side panel of the selected object: class, attributes, the box's numbers, points inside.
import { attributeField } from "../work/panels.js";
import { countInside } from "./model.js";

const DEGREE = Math.PI / 180;

/** Fill `panel` for the page's selected cuboid track or point segment. */
export function objectPanel(panel, page) {
  panel.replaceChildren();
  const track = page.track(page.selected);
  const segment = page.segments.find((s) => s.id === page.selected);
  const item = track || segment;
  if (!item) return;
  const title = document.createElement("h3");
  title.textContent = track ? "Selected cuboid" : "Selected points";
  panel.append(title);
  const classField = document.createElement("label");
  classField.className = "field";
  classField.textContent = "Class";
  const classInput = page.classes.length
    ? document.createElement("select")
    : document.createElement("input");
  classInput.name = "label";
  if (page.classes.length) {
    classInput.append(
      ...page.classes.map((c) => new Option(c.name, c.name, false, c.name === item.label)),
    );
  } else {
    classInput.value = item.label;
  }
  classInput.addEventListener("change", () => {
    page.record();
    item.label = classInput.value;
    page.changed();
  });
  classField.append(classInput);
  panel.append(classField);
  const schema = page.classes.find((c) => c.name === item.label);
  for (const attribute of schema?.attributes || [])
    panel.append(objectAttributeField(page, item, attribute));
  if (!track) {
    const count = document.createElement("p");
    count.className = "muted";
    count.textContent = `${(item.frames[page.frameId]?.indices || []).length} points`;
    panel.append(count);
    return;
  }
  const box = page.boxOf(track);
  if (!box) {
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = "Not in this frame: K adds a keyframe here.";
    panel.append(note);
    return;
  }
  const inside = document.createElement("p");
  inside.className = "muted";
  inside.id = "points-inside";
  inside.textContent = page.current ? `${countInside(box, page.current.xyz)} points inside` : "";
  panel.append(inside);
  const numbers = document.createElement("div");
  numbers.className = "numbers";
  const fields = [
    ["x", "position.x"],
    ["y", "position.y"],
    ["z", "position.z"],
    ["length", "dimensions.x"],
    ["width", "dimensions.y"],
    ["height", "dimensions.z"],
    ["yaw °", "rotation.yaw"],
  ];
  for (const [name, path] of fields) {
    const [group, axis] = path.split(".");
    const label = document.createElement("label");
    label.className = "field";
    label.textContent = name;
    const input = document.createElement("input");
    input.type = "number";
    input.step = "0.1";
    input.dataset.number = path;
    const value = box[group][axis] / (group === "rotation" ? DEGREE : 1);
    input.value = String(Math.round(value * 1000) / 1000);
    input.addEventListener("change", () => {
      const number = Number(input.value);
      if (!Number.isFinite(number)) return;
      page.edit((b) => {
        b[group][axis] = group === "rotation" ? number * DEGREE : number;
      });
    });
    label.append(input);
    numbers.append(label);
  }
  panel.append(numbers);
  const stationary = document.createElement("label");
  const check = document.createElement("input");
  check.type = "checkbox";
  check.name = "stationary";
  check.checked = track.stationary;
  check.addEventListener("change", () => {
    page.record();
    track.stationary = check.checked;
    page.changed();
  });
  stationary.append(check, " Stationary (one box in every frame)");
  panel.append(stationary);
}

// One attribute's field, the 2D editor's own, writing into the object's attributes.
function objectAttributeField(page, item, attribute) {
  return attributeField(attribute, item.attributes[attribute.name]?.value, (v) => {
    page.record();
    if (v === undefined) delete item.attributes[attribute.name];
    else item.attributes[attribute.name] = { value: v };
    page.changed();
  });
}
