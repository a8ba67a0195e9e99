// The annotate / review page: the editor, its side panels, autosave, submit, review, next job.
import { Editor } from "./editor/editor.js";
import { refreshFrameStrip } from "./editor/frame-strip.js";
import { enlarge, referencesFor, refreshReferences } from "./editor/references.js";
import { $, readJson } from "./page.js";
import { act, call, mediaProblem, upcomingSources } from "./work/api.js";
import { commandFor } from "./work/keys.js";
import {
  option,
  refreshClassifications,
  refreshObjectList,
  refreshObjectPanel,
} from "./work/panels.js";
import {
  chosenReasons,
  refreshReasonChoices,
  refreshReasonsShown,
  refreshVersions,
} from "./work/quality.js";
import { refreshVersionStrip } from "./work/versions.js";

const AUTOSAVE_MS = 800;
const HEARTBEAT_MS = 5 * 60 * 1000;
const PLAY_MS = 250;

class WorkPage {
  constructor(job) {
    this.csrf = $('meta[name="csrf-token"]').content;
    this.job = job;
    this.saveTimer = null;
    this.saving = Promise.resolve();
    this.playing = null;
    this.busy = false;
    this.preloaded = [];
    this.editor = null;
    this.editor = new Editor($("#editor"), job, {
      onChange: (kind) => this.onChange(kind),
      onMediaError: (view, src) => this.explainMedia(view, src),
      onAssist: (prompt) => this.assist(prompt),
    });
    this.model = this.editor.model;
    this.listen();
    setInterval(
      () => this.act("heartbeat").catch((err) => this.status(err.message, true)),
      HEARTBEAT_MS,
    );
    this.refreshJob();
    this.preloadNext();
  }

  status(text, error = false) {
    const node = $("#status");
    node.textContent = text;
    node.classList.toggle("error", error);
  }

  act(action, body, keepalive) {
    return act(this.csrf, this.job, action, body, keepalive);
  }

  // The smart tool's prompt, answered by the project's assist service through the server.
  async assist(prompt) {
    this.status("Asking the assist service…");
    try {
      const answer = await call(
        this.csrf,
        this.job.project_id,
        `/jobs/${this.job.job_id}/assist`,
        prompt,
      );
      this.status("Smart tool: polygon added");
      return answer;
    } catch (err) {
      this.status(`Smart tool: ${err.message}`, true);
      return null;
    }
  }

  // Load the images of the job "next" will open, so it shows at once.
  async preloadNext() {
    const sources = await upcomingSources(this.job);
    this.preloaded = sources.map((src) => {
      const image = new Image();
      image.src = src;
      return image;
    });
  }

  // An image of the job did not load: ask the server why, say it in the view, offer Skip.
  async explainMedia(view, src) {
    const job = this.job;
    view.explain(src, "The image could not be loaded; checking why…");
    const found = await mediaProblem(job, src).catch(() => null);
    if (this.job !== job) return; // another job opened meanwhile
    const reason = found?.reason || "The image could not be loaded in this browser.";
    view.explain(found?.url || src, reason, (why) => this.finish("skip", { reason: why }));
    this.status(`An image of this job cannot be shown: ${reason}`, true);
  }

  // --- autosave and the lease

  // Reviewers' corrections are sent with their decision, not saved as drafts: the draft of a
  // job in review is the submitted work, which a rejection hands back to its annotator
  // unchanged.
  autosaves() {
    return this.job.step !== "review";
  }

  scheduleSave() {
    if (!this.autosaves()) {
      this.status("Corrections are sent when you accept.");
      return;
    }
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.saveDraft(), AUTOSAVE_MS);
  }

  saveDraft(keepalive = false) {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    const missing = this.model.missing();
    if (missing) {
      this.status(`Draft not saved yet: ${missing}`, true);
      return this.saving;
    }
    const annotations = this.editor.annotations();
    this.saving = this.saving
      .then(() => this.act("draft", { annotations }, keepalive))
      .then(
        (saved) => this.status(`Draft saved ${new Date(saved.saved_at).toLocaleTimeString()}`),
        (err) => this.status(`Draft not saved: ${err.message}`, true),
      );
    return this.saving;
  }

  // --- finishing a job and opening the next

  async finish(action, body) {
    if (this.busy) return;
    this.busy = true;
    clearTimeout(this.saveTimer);
    await this.saving;
    this.status("Sending…");
    try {
      await this.act(action, body);
    } catch (err) {
      this.busy = false;
      this.status(err.message, true);
      return;
    }
    await this.openNext();
    this.busy = false;
  }

  async openNext() {
    let next;
    try {
      next = await call(this.csrf, this.job.project_id, "/claim", { step: this.job.step });
    } catch (err) {
      this.status(err.message, true);
      return;
    }
    if (!next) {
      window.location.assign(`/ui/queue?empty=${encodeURIComponent(this.job.step)}`);
      return;
    }
    this.job = next;
    history.replaceState(null, "", `/ui/work/${next.project_id}/${next.job_id}`);
    this.editor.load(next);
    $("#reject-comment").value = "";
    this.refreshJob();
    this.status("Next job opened");
    this.preloadNext();
  }

  reject() {
    const comment = $("#reject-comment").value.trim();
    if (!comment) {
      this.status("Say what to fix: a comment is needed to reject.", true);
      $("#reject-comment").focus();
      return;
    }
    this.finish("review", {
      decision: "reject",
      comment,
      reasons: chosenReasons($("#reject-reasons")),
    });
  }

  // --- side panels

  refreshJob() {
    const job = this.job;
    document.title = `${job.step_name} · ${job.reference_id} · labelyard`;
    $("#step-name").textContent = job.step_name;
    $("#reference").textContent = job.reference_id;
    const comment = $("#comment");
    comment.hidden = !job.comment;
    const said = job.step === "review" ? "Comment of the last rejection" : "Reviewer's comment";
    comment.textContent = job.comment ? `${said}: ${job.comment}` : "";
    refreshReasonsShown($("#reasons-shown"), job);
    refreshReasonChoices($("#reject-reasons"), job);
    const correct = (annotations) => {
      this.editor.load({ ...this.job, draft: annotations });
      this.status("Version loaded: accept it as is, or correct it first.");
    };
    refreshVersions($("#versions"), job, correct);
    refreshVersionStrip($("#version-strip"), job, this.model.frame || "0", {
      pick: (annotations) => this.finish("review", { decision: "accept", annotations }),
      correct,
    });
    $("#frames").hidden = this.model.frames.length < 2;
    for (const button of document.querySelectorAll(".tools [data-tool]")) {
      button.hidden = !this.model.allows(button.dataset.tool);
    }
    const open = this.model.classes.length === 0;
    $("#label-select").hidden = open;
    $("#label-input").hidden = !open;
    this.refreshPanels();
  }

  onChange(kind) {
    if (!this.editor) return; // the editor's first load, before it is assigned
    if (kind === "edit") this.scheduleSave();
    this.refreshPanels();
  }

  refreshPanels() {
    const model = this.model;
    for (const button of document.querySelectorAll(".tools [data-tool]")) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === model.tool));
    }
    const selected = model.object(model.selected);
    const shape = model.tool === "select" ? selected?.shape || "rectangle" : model.tool;
    $("#label-select").replaceChildren(
      ...model
        .classesFor(shape)
        .map((c, i) => option(c.name, `${i + 1}. ${c.name}`, c.name === model.label)),
    );
    refreshObjectPanel($("#object-panel"), model);
    refreshClassifications($("#classifications"), model);
    refreshObjectList($("#object-list"), $("#object-count"), model);
    refreshFrameStrip($("#frame-strip"), model);
    refreshReferences($("#references"), referencesFor(this.job.data, model.frame), (reference) =>
      enlarge($("#reference-dialog"), reference),
    );
    $("#undo").disabled = !model.past.length;
    $("#redo").disabled = !model.future.length;
    $("#delete").disabled = !model.selected;
    if (model.segmentation && $("#brush-size")) {
      $("#brush-size").value = String(model.brushSize);
      $("#brush-size-value").textContent = String(model.brushSize);
    }
  }

  // The label for new objects, or of the selected one.
  chooseLabel(label) {
    if (this.model.selected) this.model.setLabel(this.model.selected, label);
    else this.model.label = label;
  }

  togglePlay() {
    const model = this.model;
    if (this.playing) {
      clearInterval(this.playing);
      this.playing = null;
    } else {
      if (model.frame === model.frames[model.frames.length - 1]) model.showFrame(model.frames[0]);
      this.playing = setInterval(() => {
        if (!model.step(1)) this.togglePlay();
      }, PLAY_MS);
    }
    $("#play").textContent = this.playing ? "Pause" : "Play";
  }

  // --- keyboard: carry out a command of keys.js; false if it does nothing here

  run([name, ...args]) {
    const model = this.model;
    if (name === "send") (this.job.step === "review" ? $("#accept") : $("#submit")).click();
    else if (name === "undo") model.undo();
    else if (name === "redo") model.redo();
    else if (name === "tool") return model.setTool(args[0]);
    else if (name === "brush-size") {
      if (!model.segmentation) return false;
      const size = model.brushSize;
      model.setBrushSize(size + args[0] * Math.max(1, Math.round(size / 5)));
    } else if (name === "label") {
      const choice = $("#label-select").options[args[0]];
      if (choice) {
        this.chooseLabel(choice.value);
        this.refreshPanels();
      }
    } else if (name === "finish") model.finishDrawing();
    else if (name === "escape") model.drawing ? model.cancelDrawing() : model.select(null);
    else if (name === "delete") model.removeSelected();
    else if (name === "nudge") {
      if (!model.selected) return false;
      this.editor.nudge(args[0], args[1]);
    } else if (name === "zoom-in") this.editor.zoomBy(1.25);
    else if (name === "zoom-out") this.editor.zoomBy(0.8);
    else if (name === "fit") this.editor.fit();
    else if (name === "previous") model.step(-1);
    else if (name === "next") model.step(1);
    else if (name === "copy-next") model.copyToNextFrame();
    else if (name === "play") {
      if (model.frames.length < 2) return false;
      this.togglePlay();
    }
    return true;
  }

  // The mask controls of SEGMENTATION jobs: brush size, instance, opacity.
  listenMask() {
    const model = this.model;
    this.editor.onMaskError = (message) => this.status(message, true);
    $("#brush-size").addEventListener("input", (e) => model.setBrushSize(Number(e.target.value)));
    $("#mask-instance").addEventListener("change", (e) => model.setInstance(e.target.value));
    const opacity = $("#mask-opacity");
    const setOpacity = () => $("#editor").style.setProperty("--mask-opacity", opacity.value / 100);
    opacity.addEventListener("input", setOpacity);
    setOpacity();
  }

  listen() {
    const model = this.model;
    const click = (selector, fn) => $(selector).addEventListener("click", fn);
    click("#submit", () => this.finish("submit", { annotations: this.editor.annotations() }));
    click("#skip", () => this.finish("skip", {}));
    click("#accept", () =>
      this.finish("review", { decision: "accept", annotations: this.editor.annotations() }),
    );
    click("#reject", () => this.reject());
    $("#label-select").addEventListener("change", (e) => this.chooseLabel(e.target.value));
    $("#label-input").addEventListener("change", (e) => {
      model.label = e.target.value || "object";
    });
    for (const button of document.querySelectorAll(".tools [data-tool]")) {
      button.addEventListener("click", () => model.setTool(button.dataset.tool));
    }
    click("#undo", () => model.undo());
    click("#redo", () => model.redo());
    click("#delete", () => model.removeSelected());
    click("#prev-frame", () => model.step(-1));
    click("#next-frame", () => model.step(1));
    click("#copy-next", () => model.copyToNextFrame());
    click("#play", () => this.togglePlay());
    click("#reference-dialog", () => $("#reference-dialog").close());
    if (model.segmentation) this.listenMask();
    document.addEventListener("keydown", (e) => {
      const command = commandFor(
        e,
        Boolean(e.target.closest("textarea, select, input:not([type=range])")),
      );
      if (command && this.run(command)) e.preventDefault();
    });
    window.addEventListener("beforeunload", () => {
      if (this.saveTimer) this.saveDraft(true);
    });
  }
}

new WorkPage(readJson("job"));
