// The annotate page's side panels, drawn from the editor's model: the selected object's class
// and attributes, the classifications, and the list of objects on the frame.
import { answerOf } from "../editor/classifications.js";

export function option(value, label, selected) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = label;
  node.selected = selected;
  return node;
}

export function refreshObjectPanel(panel, model) {
  panel.replaceChildren();
  const obj = model.object(model.selected);
  if (!obj) return;
  const title = document.createElement("h3");
  title.textContent = `Selected ${obj.shape}`;
  panel.append(title);
  const classLabel = document.createElement("label");
  classLabel.className = "field";
  classLabel.textContent = "Class";
  let classInput;
  if (model.classes.length) {
    classInput = document.createElement("select");
    classInput.append(
      ...model.classesFor(obj.shape).map((c) => option(c.name, c.name, c.name === obj.label)),
    );
  } else {
    classInput = document.createElement("input");
    classInput.value = obj.label;
  }
  classInput.name = "label";
  classInput.addEventListener("change", () => model.setLabel(obj.id, classInput.value));
  classLabel.append(classInput);
  panel.append(classLabel);
  if (model.interpolates(obj) && model.geometry(obj.id)) panel.append(frameFlags(model, obj));
  for (const attribute of model.classOf(obj.label)?.attributes || []) {
    const set = (v) => model.setAttribute(obj.id, attribute.name, v);
    panel.append(attributeField(attribute, obj.attributes[attribute.name], set));
  }
}

// A VIDEO object on the frame shown: keyframe or in-between, hidden, occluded.
function frameFlags(model, obj) {
  const g = model.geometry(obj.id);
  const box = document.createElement("div");
  box.className = "frame-flags";
  const kind = document.createElement("p");
  kind.className = "muted";
  const state = obj.frames[model.frame] ? "key" : g.extra?.held ? "held" : "interpolated";
  kind.dataset.frameKind = state;
  kind.textContent = {
    key: "Keyframe",
    interpolated: "Interpolated (move it to make a keyframe)",
    held: "After its last keyframe (move it to add one)",
  }[state];
  box.append(kind);
  for (const [name, text] of [
    ["hidden", "Hidden on this frame"],
    ["occluded", "Occluded on this frame"],
  ]) {
    const field = document.createElement("label");
    field.className = "field";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.dataset.frameFlag = name;
    input.checked = Boolean(g.extra?.[name]);
    input.addEventListener("change", () => model.setFrameFlag(obj.id, name, input.checked));
    field.append(input, ` ${text}`);
    box.append(field);
  }
  return box;
}

// The schema's classifications with their answers (per-frame ones: on the frame shown).
export function refreshClassifications(panel, model) {
  panel.replaceChildren();
  panel.hidden = !model.questions.length;
  for (const question of model.questions) {
    const group = document.createElement("fieldset");
    group.dataset.classification = question.name;
    const legend = document.createElement("legend");
    legend.textContent = question.per_frame ? `${question.name} (this frame)` : question.name;
    group.append(legend);
    for (const attribute of question.attributes) {
      const value = answerOf(model.answers, question, model.frame, attribute.name);
      const set = (v) => model.answer(question.name, attribute.name, v);
      group.append(attributeField(attribute, value, set));
    }
    panel.append(group);
  }
}

/** A labelled input for one attribute of the schema; ``set`` gets each new value. */
export function attributeField(attribute, value, set) {
  const field = document.createElement("label");
  field.className = "field";
  field.textContent = attribute.name + (attribute.required ? " *" : "");
  let input;
  if (attribute.type === "select") {
    input = document.createElement("select");
    input.append(
      option("", "—", value === undefined),
      ...attribute.options.map((o) => option(o, o, o === value)),
    );
    input.addEventListener("change", () => set(input.value === "" ? undefined : input.value));
  } else if (attribute.type === "multiselect") {
    input = document.createElement("select");
    input.multiple = true;
    input.append(...attribute.options.map((o) => option(o, o, (value || []).includes(o))));
    input.addEventListener("change", () => set([...input.selectedOptions].map((o) => o.value)));
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
  input.name = `attribute:${attribute.name}`;
  input.dataset.attribute = attribute.name;
  field.append(input);
  return field;
}

export function refreshObjectList(list, count, model) {
  const here = model.objects.filter((o) => model.shownGeometry(o));
  count.textContent = `(${here.length})`;
  list.replaceChildren(
    ...here.map((o) => {
      const item = document.createElement("li");
      item.textContent = `${o.label || "?"} · ${o.shape}`;
      item.dataset.id = o.id;
      item.classList.toggle("selected", o.id === model.selected);
      item.addEventListener("click", () => model.select(o.id));
      return item;
    }),
  );
}
