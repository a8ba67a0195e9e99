// The 3D editor page: loads the job's converted point clouds, keeps the cuboid tracks and point
// labels (model.js), draws them (view.js) and on the cameras (projection.js), and talks to the
// worker API like the 2D page: autosave, submit, skip, review, next job.

import { act, call } from "../work/api.js";
import { boxAtClick, buildCameras, drawCamera } from "./cameras.js";
import { handleKey } from "./keys.js";
import {
  boxFromCorners,
  countInside,
  decodeLayout,
  fitHeight,
  fromAnnotations,
  labelColour,
  pointColours,
  pointsInPolygon,
  pointsInRectangle,
  pointsNear,
  toAnnotations,
  trackFrames,
} from "./model.js";
import { objectPanel } from "./panels.js";
import { camera, poseTransform, toWorld } from "./projection.js";
import { View3D } from "./view.js";

const $ = (selector) => document.querySelector(selector);
const AUTOSAVE_MS = 800;
const HEARTBEAT_MS = 5 * 60 * 1000;
const POLL_MS = 2000;

function parseHex(hex) {
  return [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);
}

class Page {
  constructor(job) {
    this.csrf = $('meta[name="csrf-token"]').content;
    this.job = job;
    const sensorData = job.data.sensor_data;
    this.meta = Object.fromEntries(sensorData.sensor_meta.map((m) => [m.id, m]));
    this.frames = sensorData.frames || [{ frame_id: "0", sensors: sensorData.sensors }];
    this.frameIds = this.frames.map((f) => String(f.frame_id));
    this.frameIndex = 0;
    this.classes = job.schema?.classes || [];
    this.label = this.classes[0]?.name || "object";
    this.tool = "select";
    this.brush = 0.5; // metres: the point brush's radius
    this.colourMode = job.base === "POINT_CLOUD_SEGMENTATION" ? "label" : "height";
    this.selected = null;
    this.past = [];
    this.future = [];
    this.clouds = new Map(); // frame id -> {cloud, world, inverse} | {error} | {waiting}
    this.files = [];
    this.busy = false;
    this.saving = Promise.resolve();
    const { tracks, segments, others } = fromAnnotations(job.draft);
    this.tracks = tracks;
    this.segments = segments;
    this.others = others;
    this.view = new View3D($("#view3d"), {
      onDraw: (a, b, tool) => this.drawn(a, b, tool),
      onBrush: (at, first) => {
        if (!this.current) return;
        const picked = pointsNear(this.current.xyz, this.current.index, at[0], at[1], this.brush);
        this.labelPoints(picked, first);
      },
      onLasso: (polygon) => {
        if (this.current) {
          this.labelPoints(pointsInPolygon(this.current.xyz, this.current.index, polygon));
        }
      },
      onPick: (worldAt) => this.pick(worldAt),
    });
    this.loading = document.createElement("div");
    this.loading.className = "loading";
    this.loading.textContent = "Loading the point cloud…";
    $("#view3d").append(this.loading);
    this.bind();
    this.refreshJob();
    this.refreshCameras(); // the camera images load while the point cloud is fetched
    this.loadFiles(JSON.parse($("#pointclouds")?.textContent || "null"));
    setInterval(
      () => this.act("heartbeat").catch((err) => this.status(err.message, true)),
      HEARTBEAT_MS,
    );
  }

  // --- server calls

  act(action, body, keepalive) {
    return act(this.csrf, this.job, action, body, keepalive);
  }

  /** The job's lidar files (their state, signed links and errors): from the page the first
   * time, then asked again while any is still being converted. */
  async loadFiles(embedded = null) {
    let data = embedded;
    if (!data) {
      const response = await fetch(
        `/ui/api/work/${this.job.project_id}/jobs/${this.job.job_id}/pointclouds`,
      );
      const envelope = await response.json();
      if (!envelope.success) {
        this.showError(envelope.error?.message || "the point clouds cannot be listed");
        return;
      }
      data = envelope.data;
    }
    this.files = data.point_clouds;
    performance.mark("labelyard3d-files");
    const error = data.media_error;
    $("#media-error").hidden = !error;
    $("#media-error").textContent = error ? `${error.code}: ${error.message}` : "";
    const waiting = this.files.some((f) => f.status === "queued" || f.status === "running");
    if (waiting) setTimeout(() => this.loadFiles(), POLL_MS);
    await this.showFrame();
    this.preload();
  }

  fileOf(frameId) {
    return this.files.find((f) => f.frame_id === frameId) || null;
  }

  lidarTransform(frame) {
    const lidar = (frame.sensors || []).find((s) => this.meta[s.sensor_id]?.modality === "lidar");
    return poseTransform(lidar?.sensor_pose || frame.ego_pose);
  }

  async cloudOf(frameId) {
    const cached = this.clouds.get(frameId);
    if (cached && !cached.waiting) return cached;
    const file = this.fileOf(frameId);
    if (!file) return { error: "this frame has no lidar file" };
    if (file.status === "failed") return { error: file.error };
    if (!file.url) return { waiting: true };
    const promise = (async () => {
      const response = await fetch(file.url);
      if (!response.ok) throw new Error(`the point cloud answered HTTP ${response.status}`);
      const cloud = decodeLayout(await response.arrayBuffer());
      performance.mark(`labelyard3d-cloud-${frameId}`);
      const transform = this.lidarTransform(this.frames[this.frameIds.indexOf(frameId)]);
      const world = new Float32Array(cloud.xyz.length);
      const p = [0, 0, 0];
      for (let i = 0; i < cloud.count; i++) {
        p[0] = cloud.xyz[3 * i];
        p[1] = cloud.xyz[3 * i + 1];
        p[2] = cloud.xyz[3 * i + 2];
        world.set(toWorld(transform, p), 3 * i);
      }
      const low = [0, 1, 2].map((c) => cloud.low[c] + transform.translation[c]);
      const high = [0, 1, 2].map((c) => cloud.high[c] + transform.translation[c]);
      return { cloud: { ...cloud, xyz: world, low, high } };
    })().catch((err) => ({ error: err.message }));
    this.clouds.set(frameId, { promise });
    const loaded = await promise;
    this.clouds.set(frameId, loaded);
    return loaded;
  }

  preload() {
    for (const f of this.frameIds.slice(this.frameIndex + 1, this.frameIndex + 4)) this.cloudOf(f);
  }

  // --- the frame on show

  get frameId() {
    return this.frameIds[this.frameIndex];
  }

  async showFrame() {
    const frameId = this.frameId;
    const cached = this.clouds.get(frameId);
    const loaded = cached?.promise ? await cached.promise : await this.cloudOf(frameId);
    if (frameId !== this.frameId) return;
    const container = $("#view3d");
    if (loaded.error) {
      this.loading.textContent = `The point cloud of frame ${frameId} cannot be shown: ${loaded.error}`;
      container.classList.remove("loaded");
      this.showError(loaded.error);
    } else if (loaded.waiting) {
      this.loading.textContent = "The point cloud is being converted…";
      container.classList.remove("loaded");
    } else {
      if (!this.framed) {
        this.view.frame(loaded.cloud.low, loaded.cloud.high);
        this.framed = true;
      }
      container.classList.add("loaded");
    }
    this.current = loaded.cloud || null;
    this.refreshPoints();
    this.refreshBoxes();
    this.refreshCameras();
    this.refreshPanels();
    container.dataset.shown = loaded.cloud ? frameId : "";
    performance.mark(`labelyard3d-shown-${frameId}`);
  }

  showError(message) {
    const node = $("#media-error");
    if (node.hidden) {
      node.hidden = false;
      node.textContent = message;
    }
  }

  goTo(index) {
    if (index < 0 || index >= this.frameIds.length || index === this.frameIndex) return;
    this.frameIndex = index;
    this.showFrame();
    this.preload();
  }

  // --- point labels (POINT_CLOUD_SEGMENTATION)

  labelKeys() {
    // Per shown point of the current cloud: the key of its segment (1-based), 0 unlabelled.
    const cloud = this.current;
    const keys = new Uint32Array(cloud.count);
    const colours = {};
    let shown = null;
    if (cloud.index) {
      shown = new Int32Array(cloud.sourceCount).fill(-1);
      cloud.index.forEach((source, i) => {
        shown[source] = i;
      });
    }
    this.segments.forEach((segment, k) => {
      colours[k + 1] = parseHex(labelColour(segment.label));
      for (const source of segment.frames[this.frameId]?.indices || []) {
        const i = shown ? shown[source] : source;
        if (i >= 0 && i < keys.length) keys[i] = k + 1;
      }
    });
    return { keys, colours };
  }

  /** Give `indices` (file order) the class for new objects; `record` false continues the last
   * undo step (a brush stroke is one step). */
  labelPoints(indices, record = true) {
    if (record) this.record();
    if (!indices.length) return;
    const picked = new Set(indices);
    const frame = this.frameId;
    let segment = this.segments.find((s) => s.label === this.label);
    if (!segment) {
      segment = { id: `points-${this.label}`, label: this.label, attributes: {}, frames: {} };
      this.segments.push(segment);
    }
    for (const other of this.segments) {
      const entry = other.frames[frame];
      if (other !== segment && entry) entry.indices = entry.indices.filter((i) => !picked.has(i));
    }
    const entry = segment.frames[frame] || { indices: [] };
    const merged = new Set(entry.indices);
    for (const i of indices) merged.add(i);
    segment.frames[frame] = { ...entry, indices: [...merged].sort((a, b) => a - b) };
    this.selected = segment.id;
    this.changed();
  }

  // --- cuboids

  track(id) {
    return this.tracks.find((t) => t.id === id) || null;
  }

  boxOf(track, frame = this.frameId) {
    return trackFrames(track, this.frameIds)[frame]?.box || null;
  }

  newId() {
    let n = this.tracks.length + this.segments.length + 1;
    const used = new Set([...this.tracks, ...this.segments].map((t) => t.id));
    while (used.has(`cuboid-${n}`)) n++;
    return `cuboid-${n}`;
  }

  drawn(a, b, tool) {
    if (tool === "points") {
      if (this.current) {
        this.labelPoints(
          pointsInRectangle(this.current.xyz, this.current.index, a[0], a[1], b[0], b[1]),
        );
      }
      return;
    }
    this.record();
    let box = boxFromCorners(a, b, this.view.ground + 0.75, 1.5);
    if (this.current) box = fitHeight(box, this.current.xyz);
    const track = {
      id: this.newId(),
      label: this.label,
      attributes: {},
      stationary: false,
      keyframes: { [this.frameId]: box },
    };
    this.tracks.push(track);
    this.selected = track.id;
    this.setTool("select");
    this.changed();
  }

  pick(worldAt) {
    const hit = this.tracks.find((t) => {
      const box = this.boxOf(t);
      if (!box) return false;
      const p = worldAt(box.position.z);
      if (!p) return false;
      const dx = p[0] - box.position.x;
      const dy = p[1] - box.position.y;
      const yaw = box.rotation.yaw;
      const along = dx * Math.cos(yaw) + dy * Math.sin(yaw);
      const across = -dx * Math.sin(yaw) + dy * Math.cos(yaw);
      return Math.abs(along) <= box.dimensions.x / 2 && Math.abs(across) <= box.dimensions.y / 2;
    });
    this.select(hit ? hit.id : null);
  }

  /** Change the selected cuboid's box in this frame (which becomes a keyframe). */
  edit(change) {
    const track = this.track(this.selected);
    const box = track && this.boxOf(track);
    if (!box) return;
    this.record();
    const next = structuredClone(box);
    change(next);
    next.dimensions.x = Math.max(next.dimensions.x, 0.1);
    next.dimensions.y = Math.max(next.dimensions.y, 0.1);
    next.dimensions.z = Math.max(next.dimensions.z, 0.1);
    track.keyframes[this.frameId] = next;
    this.changed();
  }

  toggleKeyframe() {
    const track = this.track(this.selected);
    if (!track) return;
    const frame = this.frameId;
    const keyed = Object.keys(track.keyframes);
    if (track.keyframes[frame]) {
      if (keyed.length < 2) return;
      this.record();
      delete track.keyframes[frame];
    } else {
      // Here: the interpolated box, or a copy of the nearest keyframe outside the track's span.
      const nearest = keyed
        .map((f) => this.frameIds.indexOf(f))
        .sort((a, b) => Math.abs(a - this.frameIndex) - Math.abs(b - this.frameIndex))[0];
      const box = this.boxOf(track) || track.keyframes[this.frameIds[nearest]];
      this.record();
      track.keyframes[frame] = structuredClone(box);
    }
    this.changed();
  }

  deleteSelected() {
    if (!this.selected) return;
    this.record();
    this.tracks = this.tracks.filter((t) => t.id !== this.selected);
    this.segments = this.segments.filter((s) => s.id !== this.selected);
    this.selected = null;
    this.changed();
  }

  // --- history, saving

  snapshot() {
    return JSON.stringify({ tracks: this.tracks, segments: this.segments });
  }

  record() {
    this.past.push(this.snapshot());
    if (this.past.length > 50) this.past.shift();
    this.future = [];
  }

  restore(from, to) {
    if (!from.length) return;
    to.push(this.snapshot());
    const state = JSON.parse(from.pop());
    this.tracks = state.tracks;
    this.segments = state.segments;
    if (!this.track(this.selected) && !this.segments.some((s) => s.id === this.selected))
      this.selected = null;
    this.changed();
  }

  annotations() {
    const counts = (frame, box) => {
      const loaded = this.clouds.get(frame);
      return loaded?.cloud ? countInside(box, loaded.cloud.xyz) : null;
    };
    return [...toAnnotations(this.tracks, this.segments, this.frameIds, counts), ...this.others];
  }

  changed() {
    this.refreshPoints();
    this.refreshBoxes();
    this.refreshCameras();
    this.refreshPanels();
    if (this.job.step === "review") {
      this.status("Corrections are sent when you accept.");
      return;
    }
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.saveDraft(), AUTOSAVE_MS);
  }

  saveDraft() {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    const annotations = this.annotations();
    this.saving = this.saving
      .then(() => this.act("draft", { annotations }))
      .then(
        (saved) => this.status(`Draft saved ${new Date(saved.saved_at).toLocaleTimeString()}`),
        (err) => this.status(`Draft not saved: ${err.message}`, true),
      );
    return this.saving;
  }

  async finish(action, body) {
    if (this.busy) return;
    this.busy = true;
    clearTimeout(this.saveTimer);
    await this.saving;
    this.status("Sending…");
    try {
      await this.act(action, body);
      const next = await call(this.csrf, this.job.project_id, "/claim", { step: this.job.step });
      window.location.assign(
        next
          ? `/ui/work/${next.project_id}/${next.job_id}`
          : `/ui/queue?empty=${encodeURIComponent(this.job.step)}`,
      );
    } catch (err) {
      this.busy = false;
      this.status(err.message, true);
    }
  }

  status(text, error = false) {
    const node = $("#status");
    node.textContent = text;
    node.classList.toggle("error", error);
  }

  setTool(tool) {
    this.tool = tool;
    this.view.setTool(tool);
    this.refreshPanels();
  }

  // --- drawing

  refreshPoints() {
    const cloud = this.current;
    if (!cloud) {
      this.view.setPoints(new Float32Array(0), new Float32Array(0));
      $("#points-info").textContent = "";
      return;
    }
    let xyz = cloud.xyz;
    let colours;
    if (this.colourMode === "label" || $("#hide-labelled")?.checked) {
      const { keys, colours: palette } = this.labelKeys();
      colours = pointColours(cloud, this.colourMode, keys, palette);
      if ($("#hide-labelled")?.checked) {
        const keep = [];
        keys.forEach((k, i) => {
          if (!k) keep.push(i);
        });
        xyz = new Float32Array(keep.length * 3);
        const kept = new Float32Array(keep.length * 3);
        keep.forEach((i, j) => {
          xyz.set(cloud.xyz.subarray(3 * i, 3 * i + 3), 3 * j);
          kept.set(colours.subarray(3 * i, 3 * i + 3), 3 * j);
        });
        colours = kept;
      }
    } else {
      colours = pointColours(cloud, this.colourMode);
    }
    this.view.setPoints(xyz, colours);
    $("#points-info").textContent = `${cloud.count.toLocaleString()} points`;
  }

  refreshBoxes() {
    const items = [];
    for (const track of this.tracks) {
      const box = this.boxOf(track);
      if (!box) continue;
      const colour = Number.parseInt(labelColour(track.label).slice(1), 16);
      items.push({ id: track.id, box, colour, selected: track.id === this.selected });
    }
    this.view.setBoxes(items);
  }

  visibleBoxes() {
    const boxes = [];
    for (const track of this.tracks) {
      const box = this.boxOf(track);
      if (box) boxes.push({ id: track.id, label: track.label, box });
    }
    return boxes;
  }

  refreshCameras() {
    const holder = $("#cameras");
    const frame = this.frames[this.frameIndex];
    const sensors = (frame.sensors || []).filter(
      (s) => this.meta[s.sensor_id]?.modality === "camera",
    );
    const draw = (box, sensor) =>
      drawCamera(box, this.cameraOf(sensor), this.current, this.visibleBoxes(), this.selected);
    if (holder.dataset.frame !== this.frameId) {
      holder.dataset.frame = this.frameId;
      buildCameras(holder, sensors, this.meta, {
        onLoad: draw,
        onClick: (event, box, sensor) => {
          this.select(boxAtClick(event, box, this.cameraOf(sensor), this.visibleBoxes()));
        },
      });
      return;
    }
    for (const box of holder.children) {
      const sensor = sensors.find((s) => s.sensor_id === box.dataset.sensor);
      if (sensor) draw(box, sensor);
    }
  }

  cameraOf(sensor) {
    return camera(this.meta[sensor.sensor_id], sensor.sensor_pose);
  }

  select(id) {
    this.selected = id;
    this.refreshBoxes();
    this.refreshCameras();
    this.refreshPanels();
  }

  // --- panels

  refreshJob() {
    const job = this.job;
    const comment = $("#comment");
    comment.hidden = !job.comment;
    comment.textContent = job.comment ? `Reviewer's comment: ${job.comment}` : "";
    const open = this.classes.length === 0;
    $("#label-select").hidden = open;
    $("#label-input").hidden = !open;
    $("#colour-mode").value = this.colourMode;
    $("#frames").hidden = this.frameIds.length < 2;
  }

  refreshPanels() {
    for (const button of document.querySelectorAll("[data-tool]")) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === this.tool));
    }
    for (const button of document.querySelectorAll("[data-view]")) {
      button.setAttribute("aria-pressed", String(button.dataset.view === this.view.mode));
    }
    const select = $("#label-select");
    select.replaceChildren(
      ...this.classes.map(
        (c, i) => new Option(`${i + 1}. ${c.name}`, c.name, false, c.name === this.label),
      ),
    );
    objectPanel($("#object-panel"), this);
    this.refreshObjectList();
    this.refreshFrameStrip();
    $("#undo").disabled = !this.past.length;
    $("#redo").disabled = !this.future.length;
    $("#delete").disabled = !this.selected;
  }

  refreshObjectList() {
    const list = $("#object-list");
    const items = [...this.tracks, ...this.segments];
    $("#object-count").textContent = `(${items.length})`;
    list.replaceChildren(
      ...items.map((item) => {
        const li = document.createElement("li");
        li.textContent = `${item.label} · ${item.id}`;
        li.dataset.id = item.id;
        li.classList.toggle("selected", item.id === this.selected);
        li.addEventListener("click", () => this.select(item.id));
        return li;
      }),
    );
  }

  refreshFrameStrip() {
    const strip = $("#frame-strip");
    const track = this.track(this.selected);
    const spans = track ? trackFrames(track, this.frameIds) : {};
    strip.replaceChildren(
      ...this.frameIds.map((frameId, i) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = String(i + 1);
        button.title = frameId;
        button.dataset.frame = frameId;
        button.setAttribute("aria-current", String(i === this.frameIndex));
        button.classList.toggle("keyframe", Boolean(spans[frameId]?.keyframe));
        button.classList.toggle("spanned", Boolean(spans[frameId] && !spans[frameId].keyframe));
        button.addEventListener("click", () => this.goTo(i));
        return button;
      }),
    );
  }

  // --- input

  bind() {
    for (const button of document.querySelectorAll("[data-tool]")) {
      button.addEventListener("click", () => this.setTool(button.dataset.tool));
    }
    for (const button of document.querySelectorAll("[data-view]")) {
      button.addEventListener("click", () => {
        this.view.setMode(button.dataset.view);
        this.refreshPanels();
      });
    }
    $("#label-select").addEventListener("change", (e) => {
      this.label = e.target.value;
    });
    $("#label-input").addEventListener("change", (e) => {
      this.label = e.target.value || "object";
    });
    $("#colour-mode").addEventListener("change", (e) => {
      this.colourMode = e.target.value;
      this.refreshPoints();
    });
    $("#hide-labelled")?.addEventListener("change", () => this.refreshPoints());
    $("#undo").addEventListener("click", () => this.restore(this.past, this.future));
    $("#redo").addEventListener("click", () => this.restore(this.future, this.past));
    $("#delete").addEventListener("click", () => this.deleteSelected());
    $("#prev-frame").addEventListener("click", () => this.goTo(this.frameIndex - 1));
    $("#next-frame").addEventListener("click", () => this.goTo(this.frameIndex + 1));
    $("#keyframe").addEventListener("click", () => this.toggleKeyframe());
    $("#submit").addEventListener("click", () =>
      this.finish("submit", { annotations: this.annotations() }),
    );
    $("#skip").addEventListener("click", () => this.finish("skip", {}));
    $("#accept").addEventListener("click", () =>
      this.finish("review", { decision: "accept", annotations: this.annotations() }),
    );
    $("#reject").addEventListener("click", () => {
      const comment = $("#reject-comment").value.trim();
      if (!comment) {
        this.status("Say what to fix: a comment is needed to reject.", true);
        return;
      }
      this.finish("review", { decision: "reject", comment });
    });
    window.addEventListener("keydown", (event) => handleKey(this, event));
    window.addEventListener("pagehide", () => {
      if (this.saveTimer && this.job.step !== "review") {
        this.act("draft", { annotations: this.annotations() }, true);
      }
    });
  }
}

performance.mark("labelyard3d-start");
const page = new Page(JSON.parse($("#job").textContent));
window.labelyard3d = page; // for tests and the console
