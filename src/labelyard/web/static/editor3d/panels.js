// The side panel of the selected object: class, attributes, the box's numbers, points inside.
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
    panel.append(attributeField(page, item, attribute));
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

function attributeField(page, item, attribute) {
  const value = item.attributes[attribute.name]?.value;
  const field = document.createElement("label");
  field.className = "field";
  field.textContent = attribute.name + (attribute.required ? " *" : "");
  const set = (v) => {
    page.record();
    if (v === undefined) delete item.attributes[attribute.name];
    else item.attributes[attribute.name] = { value: v };
    page.changed();
  };
  let input;
  if (attribute.type === "select" || attribute.type === "multiselect") {
    input = document.createElement("select");
    input.multiple = attribute.type === "multiselect";
    if (!input.multiple) input.append(new Option("—", "", false, value === undefined));
    input.append(
      ...attribute.options.map(
        (o) => new Option(o, o, false, input.multiple ? (value || []).includes(o) : o === value),
      ),
    );
    input.addEventListener("change", () =>
      set(
        input.multiple ? [...input.selectedOptions].map((o) => o.value) : input.value || undefined,
      ),
    );
  } else if (attribute.type === "boolean") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = value === true;
    input.addEventListener("change", () => set(input.checked));
  } else {
    input = document.createElement("input");
    input.type = attribute.type === "number" ? "number" : "text";
    input.value = value ?? "";
    input.addEventListener("change", () => {
      if (input.value === "") set(undefined);
      else set(attribute.type === "number" ? Number(input.value) : input.value);
    });
  }
  input.dataset.attribute = attribute.name;
  field.append(input);
  return field;
}
