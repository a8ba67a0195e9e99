// The annotate / review page: the editor, its side panels, autosave, submit, review, next job.
import { Editor, refreshFrameStrip } from "./editor.js";

const $ = (selector) => document.querySelector(selector);
const csrf = $('meta[name="csrf-token"]').content;
const AUTOSAVE_MS = 800;
const HEARTBEAT_MS = 5 * 60 * 1000;
const PLAY_MS = 250;

let job = JSON.parse($("#job").textContent);
let saveTimer = null;
let saving = Promise.resolve();
let playing = null;
let busy = false;

let editor = null;
editor = new Editor($("#editor"), job, { onChange });

function status(text, error = false) {
  const node = $("#status");
  node.textContent = text;
  node.classList.toggle("error", error);
}

async function call(path, body, keepalive = false) {
  const response = await fetch(`/ui/api/work/${job.project_id}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": csrf },
    body: JSON.stringify(body || {}),
    keepalive, // lets the last draft of a closing tab still be sent
  });
  if (response.status === 204) return null;
  const envelope = await response.json().catch(() => ({ success: false, error: { message: response.statusText } }));
  if (!envelope.success) throw new Error(envelope.error?.message || `HTTP ${response.status}`);
  return envelope.data;
}

const act = (action, body, keepalive) => call(`/jobs/${job.job_id}/${action}`, body, keepalive);

// Load the images of the job "next" will open, so it shows at once.
const preloaded = [];
async function preloadNext() {
  const response = await fetch(`/ui/api/work/${job.project_id}/upcoming?step=${encodeURIComponent(job.step)}`);
  if (!response.ok) return;
  const { data } = await response.json();
  preloaded.length = 0;
  for (const src of data.sources) {
    const image = new Image();
    image.src = src;
    preloaded.push(image);
  }
}

// --- autosave and the lease

// Reviewers' corrections are sent with their decision, not saved as drafts: the draft of a job
// in review is the submitted work, which a rejection hands back to its annotator unchanged.
const autosaves = () => job.step !== "review";

function scheduleSave() {
  if (!autosaves()) {
    status("Corrections are sent when you accept.");
    return;
  }
  clearTimeout(saveTimer);
  saveTimer = setTimeout(saveDraft, AUTOSAVE_MS);
}

function saveDraft(keepalive = false) {
  clearTimeout(saveTimer);
  saveTimer = null;
  const missing = editor.missing();
  if (missing) {
    status(`Draft not saved yet: ${missing}`, true);
    return saving;
  }
  const annotations = editor.annotations();
  saving = saving.then(() => act("draft", { annotations }, keepalive)).then(
    (saved) => status(`Draft saved ${new Date(saved.saved_at).toLocaleTimeString()}`),
    (err) => status(`Draft not saved: ${err.message}`, true),
  );
  return saving;
}

setInterval(() => act("heartbeat").catch((err) => status(err.message, true)), HEARTBEAT_MS);

// --- finishing a job and opening the next

async function finish(action, body) {
  if (busy) return;
  busy = true;
  clearTimeout(saveTimer);
  await saving;
  status("Sending…");
  try {
    await act(action, body);
  } catch (err) {
    busy = false;
    status(err.message, true);
    return;
  }
  await openNext();
  busy = false;
}

async function openNext() {
  let next;
  try {
    next = await call("/claim", { step: job.step });
  } catch (err) {
    status(err.message, true);
    return;
  }
  if (!next) {
    window.location.assign(`/ui/queue?empty=${encodeURIComponent(job.step)}`);
    return;
  }
  job = next;
  history.replaceState(null, "", `/ui/work/${job.project_id}/${job.job_id}`);
  editor.load(job);
  $("#reject-comment").value = "";
  refreshJob();
  status("Next job opened");
  preloadNext();
}

$("#submit").addEventListener("click", () => finish("submit", { annotations: editor.annotations() }));
$("#skip").addEventListener("click", () => finish("skip", {}));
$("#accept").addEventListener("click", () => finish("review", { decision: "accept", annotations: editor.annotations() }));
$("#reject").addEventListener("click", () => {
  const comment = $("#reject-comment").value.trim();
  if (!comment) {
    status("Say what to fix: a comment is needed to reject.", true);
    $("#reject-comment").focus();
    return;
  }
  finish("review", { decision: "reject", comment });
});

// --- side panels

function refreshJob() {
  document.title = `${job.step_name} · ${job.reference_id} · labelyard`;
  $("#step-name").textContent = job.step_name;
  $("#reference").textContent = job.reference_id;
  const comment = $("#comment");
  comment.hidden = !job.comment;
  const said = job.step === "review" ? "Comment of the last rejection" : "Reviewer's comment";
  comment.textContent = job.comment ? `${said}: ${job.comment}` : "";
  $("#frames").hidden = editor.frames.length < 2;
  const open = editor.classes.length === 0;
  $("#label-select").hidden = open;
  $("#label-input").hidden = !open;
  refreshPanels();
}

function onChange(kind) {
  if (!editor) return; // the editor's first load, before it is assigned
  if (kind === "edit") scheduleSave();
  refreshPanels();
}

function option(value, label, selected) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = label;
  node.selected = selected;
  return node;
}

function refreshPanels() {
  for (const button of document.querySelectorAll(".tools [data-tool]")) {
    button.setAttribute("aria-pressed", String(button.dataset.tool === editor.tool));
  }
  const shape = editor.tool === "select" ? editor.object(editor.selected)?.shape || "rectangle" : editor.tool;
  const select = $("#label-select");
  select.replaceChildren(...editor.classesFor(shape).map((c, i) => option(c.name, `${i + 1}. ${c.name}`, c.name === editor.label)));
  refreshObjectPanel();
  refreshObjectList();
  refreshFrameStrip($("#frame-strip"), editor);
  $("#undo").disabled = !editor.past.length;
  $("#redo").disabled = !editor.future.length;
  $("#delete").disabled = !editor.selected;
}

function refreshObjectPanel() {
  const panel = $("#object-panel");
  panel.replaceChildren();
  const obj = editor.object(editor.selected);
  if (!obj) return;
  const title = document.createElement("h3");
  title.textContent = `Selected ${obj.shape}`;
  panel.append(title);
  const classLabel = document.createElement("label");
  classLabel.className = "field";
  classLabel.textContent = "Class";
  let classInput;
  if (editor.classes.length) {
    classInput = document.createElement("select");
    classInput.append(...editor.classesFor(obj.shape).map((c) => option(c.name, c.name, c.name === obj.label)));
  } else {
    classInput = document.createElement("input");
    classInput.value = obj.label;
  }
  classInput.name = "label";
  classInput.addEventListener("change", () => editor.setLabel(obj.id, classInput.value));
  classLabel.append(classInput);
  panel.append(classLabel);
  for (const attribute of editor.classOf(obj.label)?.attributes || []) panel.append(attributeField(obj, attribute));
}

function attributeField(obj, attribute) {
  const value = obj.attributes[attribute.name];
  const field = document.createElement("label");
  field.className = "field";
  field.textContent = attribute.name + (attribute.required ? " *" : "");
  let input;
  const set = (v) => editor.setAttribute(obj.id, attribute.name, v);
  if (attribute.type === "select") {
    input = document.createElement("select");
    input.append(option("", "—", value === undefined), ...attribute.options.map((o) => option(o, o, o === value)));
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

function refreshObjectList() {
  const list = $("#object-list");
  const here = editor.objects.filter((o) => o.frames[editor.frame]);
  $("#object-count").textContent = `(${here.length})`;
  list.replaceChildren(...here.map((o) => {
    const item = document.createElement("li");
    item.textContent = `${o.label || "?"} · ${o.shape}`;
    item.dataset.id = o.id;
    item.classList.toggle("selected", o.id === editor.selected);
    item.addEventListener("click", () => editor.select(o.id));
    return item;
  }));
}

$("#label-select").addEventListener("change", (e) => {
  if (editor.selected) editor.setLabel(editor.selected, e.target.value);
  else editor.label = e.target.value;
});
$("#label-input").addEventListener("change", (e) => { editor.label = e.target.value || "object"; });
for (const button of document.querySelectorAll(".tools [data-tool]")) {
  button.addEventListener("click", () => editor.setTool(button.dataset.tool));
}
$("#undo").addEventListener("click", () => editor.undo());
$("#redo").addEventListener("click", () => editor.redo());
$("#delete").addEventListener("click", () => editor.removeSelected());
$("#prev-frame").addEventListener("click", () => editor.step(-1));
$("#next-frame").addEventListener("click", () => editor.step(1));
$("#copy-next").addEventListener("click", () => editor.copyToNextFrame());
$("#play").addEventListener("click", togglePlay);

function togglePlay() {
  if (playing) {
    clearInterval(playing);
    playing = null;
  } else {
    if (editor.frame === editor.frames[editor.frames.length - 1]) editor.showFrame(editor.frames[0]);
    playing = setInterval(() => { if (!editor.step(1)) togglePlay(); }, PLAY_MS);
  }
  $("#play").textContent = playing ? "Pause" : "Play";
}

// --- keyboard

const TOOL_KEYS = { v: "select", r: "rectangle", p: "polygon", l: "line", k: "landmark" };

document.addEventListener("keydown", (e) => {
  const typing = e.target.closest("input, textarea, select");
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && e.key === "Enter") {
    e.preventDefault();
    (job.step === "review" ? $("#accept") : $("#submit")).click();
    return;
  }
  if (typing) return;
  const key = e.key.toLowerCase();
  let handled = true;
  if (ctrl && key === "z") e.shiftKey ? editor.redo() : editor.undo();
  else if (ctrl && key === "y") editor.redo();
  else if (ctrl) handled = false;
  else if (TOOL_KEYS[key]) editor.setTool(TOOL_KEYS[key]);
  else if (/^[1-9]$/.test(key)) {
    const choice = $("#label-select").options[Number(key) - 1];
    if (choice) {
      if (editor.selected) editor.setLabel(editor.selected, choice.value);
      else editor.label = choice.value;
      refreshPanels();
    }
  } else if (key === "enter") editor.finishDrawing();
  else if (key === "escape") editor.drawing ? editor.cancelDrawing() : editor.select(null);
  else if (key === "delete" || key === "backspace") editor.removeSelected();
  else if (key.startsWith("arrow") && editor.selected) {
    const step = e.shiftKey ? 10 : 1;
    const [dx, dy] = { arrowleft: [-step, 0], arrowright: [step, 0], arrowup: [0, -step], arrowdown: [0, step] }[key];
    editor.nudge(dx, dy);
  } else if (key === "+" || key === "=") editor.views.forEach((v) => v.zoomBy(1.25));
  else if (key === "-") editor.views.forEach((v) => v.zoomBy(0.8));
  else if (key === "0") editor.views.forEach((v) => v.fit());
  else if (key === "a") editor.step(-1);
  else if (key === "d") editor.step(1);
  else if (key === "c") editor.copyToNextFrame();
  else if (key === " " && editor.frames.length > 1) togglePlay();
  else handled = false;
  if (handled) e.preventDefault();
});

window.addEventListener("beforeunload", () => { if (saveTimer) saveDraft(true); });

refreshJob();
preloadNext();
