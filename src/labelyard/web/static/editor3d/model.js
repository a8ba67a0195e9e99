// The 3D editor's model: point clouds as the server converted them, cuboid tracks with
// keyframes and linear interpolation, point labels; pure (no DOM, no three.js).

const MAGIC = 0x4350594c; // "LYPC" little-endian
const FLAG_INDEX = 1;

/** Decode the browser layout of a converted lidar file (labelyard.core.pointcloud). */
export function decodeLayout(buffer) {
  const view = new DataView(buffer);
  if (buffer.byteLength < 48 || view.getUint32(0, true) !== MAGIC) {
    throw new Error("not a labelyard point cloud");
  }
  const count = view.getUint32(8, true);
  const sourceCount = view.getUint32(12, true);
  const overviewCount = view.getUint32(16, true);
  const flags = view.getUint32(20, true);
  const low = [0, 1, 2].map((i) => view.getFloat32(24 + 4 * i, true));
  const high = [0, 1, 2].map((i) => view.getFloat32(36 + 4 * i, true));
  let offset = 48;
  const level = (n) => {
    const xyz = new Float32Array(buffer, offset, n * 3);
    offset += n * 12;
    const intensity = new Uint8Array(buffer, offset, n);
    offset += n + ((4 - (n % 4)) % 4);
    return { xyz, intensity };
  };
  const overview = level(overviewCount);
  const full = level(count);
  const index = flags & FLAG_INDEX ? new Uint32Array(buffer, offset, count) : null;
  return { count, sourceCount, flags, low, high, overview, ...full, index };
}

const RAMP = [
  [0.18, 0.2, 0.6],
  [0.1, 0.6, 0.9],
  [0.3, 0.85, 0.4],
  [0.95, 0.85, 0.2],
  [0.95, 0.35, 0.2],
];

function ramp(t, out, at) {
  const x = Math.min(Math.max(t, 0), 1) * (RAMP.length - 1);
  const i = Math.min(Math.floor(x), RAMP.length - 2);
  const f = x - i;
  for (let c = 0; c < 3; c++) out[at + c] = RAMP[i][c] * (1 - f) + RAMP[i + 1][c] * f;
}

/** RGB (0..1) per point: by "height" (z between low and high), "intensity", or "label"
 * (labels: Uint32Array of label keys, colours: {key: [r, g, b]}; unlabelled points grey). */
export function pointColours(cloud, mode, labels = null, colours = {}) {
  const n = cloud.xyz.length / 3;
  const out = new Float32Array(n * 3);
  const zLow = cloud.low[2];
  const span = Math.max(cloud.high[2] - zLow, 1e-6);
  for (let i = 0; i < n; i++) {
    if (mode === "label" && labels) {
      const rgb = colours[labels[i]];
      if (rgb) {
        out[3 * i] = rgb[0];
        out[3 * i + 1] = rgb[1];
        out[3 * i + 2] = rgb[2];
      } else {
        out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = 0.45;
      }
    } else if (mode === "intensity") {
      ramp(cloud.intensity[i] / 255, out, 3 * i);
    } else {
      ramp((cloud.xyz[3 * i + 2] - zLow) / span, out, 3 * i);
    }
  }
  return out;
}

/** True when the world point (x, y, z) is inside the box (yaw only; roll and pitch ignored). */
export function insideBox(box, x, y, z) {
  const c = box.position;
  const d = box.dimensions;
  const yaw = box.rotation.yaw;
  const dx = x - c.x;
  const dy = y - c.y;
  const along = dx * Math.cos(yaw) + dy * Math.sin(yaw);
  const across = -dx * Math.sin(yaw) + dy * Math.cos(yaw);
  return Math.abs(along) <= d.x / 2 && Math.abs(across) <= d.y / 2 && Math.abs(z - c.z) <= d.z / 2;
}

/** Points of `xyz` (world frame) inside the box. */
export function countInside(box, xyz) {
  let count = 0;
  for (let i = 0, n = xyz.length / 3; i < n; i++) {
    if (insideBox(box, xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2])) count++;
  }
  return count;
}

/** The box with its z and height fitted to the points inside its footprint (any height);
 * unchanged when no point is there. */
export function fitHeight(box, xyz) {
  const tall = { ...box, dimensions: { ...box.dimensions, z: 1e9 } };
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (let i = 0, n = xyz.length / 3; i < n; i++) {
    const z = xyz[3 * i + 2];
    if (insideBox(tall, xyz[3 * i], xyz[3 * i + 1], z)) {
      if (z < low) low = z;
      if (z > high) high = z;
    }
  }
  if (low > high) return box;
  const height = Math.max(high - low, 0.05);
  return {
    ...box,
    position: { ...box.position, z: (low + high) / 2 },
    dimensions: { ...box.dimensions, z: height },
  };
}

/** A box from two opposite corners drawn in the top view (length along the longer side). */
export function boxFromCorners(a, b, z = 0, height = 1.5) {
  const dx = Math.abs(b[0] - a[0]);
  const dy = Math.abs(b[1] - a[1]);
  const along = dx >= dy;
  return {
    position: { x: (a[0] + b[0]) / 2, y: (a[1] + b[1]) / 2, z },
    dimensions: { x: Math.max(along ? dx : dy, 0.1), y: Math.max(along ? dy : dx, 0.1), z: height },
    rotation: { roll: 0, pitch: 0, yaw: along ? 0 : Math.PI / 2 },
  };
}

function lerp(a, b, t) {
  return a + (b - a) * t;
}

function lerpAngle(a, b, t) {
  let d = (b - a) % (2 * Math.PI);
  if (d > Math.PI) d -= 2 * Math.PI;
  if (d < -Math.PI) d += 2 * Math.PI;
  return a + d * t;
}

/** The box between two keyframe boxes at fraction t (position, dimensions linear; angles the
 * short way round). */
export function interpolateBox(a, b, t) {
  const v = (key, axes) => Object.fromEntries(axes.map((k) => [k, lerp(a[key][k], b[key][k], t)]));
  return {
    position: v("position", ["x", "y", "z"]),
    dimensions: v("dimensions", ["x", "y", "z"]),
    rotation: {
      roll: lerpAngle(a.rotation.roll, b.rotation.roll, t),
      pitch: lerpAngle(a.rotation.pitch, b.rotation.pitch, t),
      yaw: lerpAngle(a.rotation.yaw, b.rotation.yaw, t),
    },
  };
}

/** A track's box in every frame it spans: keyframes as drawn, frames between two keyframes
 * interpolated; a stationary track keeps its first keyframe in every frame of the job. */
export function trackFrames(track, frameIds) {
  const keyed = frameIds.filter((f) => track.keyframes[f]);
  const out = {};
  if (!keyed.length) return out;
  if (track.stationary) {
    const box = track.keyframes[keyed[0]];
    for (const f of frameIds) out[f] = { box, keyframe: f === keyed[0] };
    return out;
  }
  const first = frameIds.indexOf(keyed[0]);
  const last = frameIds.indexOf(keyed[keyed.length - 1]);
  let previous = first;
  for (let i = first; i <= last; i++) {
    const f = frameIds[i];
    if (track.keyframes[f]) {
      out[f] = { box: track.keyframes[f], keyframe: true };
      previous = i;
      continue;
    }
    let next = i + 1;
    while (!track.keyframes[frameIds[next]]) next++;
    const t = (i - previous) / (next - previous);
    out[f] = {
      box: interpolateBox(track.keyframes[frameIds[previous]], track.keyframes[frameIds[next]], t),
      keyframe: false,
    };
  }
  return out;
}

function cleanBox(box) {
  const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, Number(o?.[k] ?? 0)]));
  return {
    position: pick(box.position, ["x", "y", "z"]),
    dimensions: pick(box.dimensions, ["x", "y", "z"]),
    rotation: pick(box.rotation, ["roll", "pitch", "yaw"]),
  };
}

/** Tracks, point labels, and the trackers this editor does not draw (2D boxes on the
 * cameras: given back untouched) from a draft's trackers. */
export function fromAnnotations(annotations) {
  const tracks = [];
  const segments = [];
  const others = [];
  for (const tracker of annotations || []) {
    if (tracker.type === "points") {
      segments.push({
        id: tracker._id,
        label: tracker.label,
        attributes: tracker.attributes || {},
        frames: tracker.frames,
      });
      continue;
    }
    if (tracker.type !== "cuboid3d") {
      others.push(tracker);
      continue;
    }
    const entries = Object.entries(tracker.frames || {});
    const marked = entries.some(([, g]) => g.keyframe === true);
    const keyframes = {};
    for (const [frame, geometry] of entries) {
      if (!marked || geometry.keyframe === true) keyframes[frame] = cleanBox(geometry);
    }
    tracks.push({
      id: tracker._id,
      label: tracker.label,
      attributes: tracker.attributes || {},
      stationary: tracker._isStationary === true,
      keyframes,
    });
  }
  return { tracks, segments, others };
}

/** The trackers of API.md 3.7 for every track (``counts(frame, box)`` gives points_inside,
 * or null when that frame's cloud is not loaded) and point segments. */
export function toAnnotations(tracks, segments, frameIds, counts = () => null) {
  const out = [];
  for (const track of tracks) {
    const frames = {};
    for (const [frame, { box, keyframe }] of Object.entries(trackFrames(track, frameIds))) {
      const geometry = { ...cleanBox(box), keyframe };
      const inside = counts(frame, box);
      if (inside !== null && inside !== undefined) geometry.points_inside = inside;
      frames[frame] = geometry;
    }
    if (!Object.keys(frames).length) continue;
    out.push({
      _id: track.id,
      type: "cuboid3d",
      label: track.label,
      attributes: track.attributes,
      _isStationary: track.stationary,
      frames,
    });
  }
  for (const segment of segments) {
    const frames = Object.fromEntries(
      Object.entries(segment.frames).filter(([, g]) => g.indices?.length),
    );
    if (!Object.keys(frames).length) continue;
    out.push({
      _id: segment.id,
      type: "points",
      label: segment.label,
      attributes: segment.attributes,
      frames,
    });
  }
  return out;
}

/** Indices (into the file, `index` mapping shown points to file points) of the points whose
 * world x, y fall inside the axis-aligned rectangle [x0, x1] x [y0, y1]. */
export function pointsInRectangle(xyz, index, x0, y0, x1, y1) {
  const [lx, hx] = x0 < x1 ? [x0, x1] : [x1, x0];
  const [ly, hy] = y0 < y1 ? [y0, y1] : [y1, y0];
  const picked = [];
  for (let i = 0, n = xyz.length / 3; i < n; i++) {
    const x = xyz[3 * i];
    const y = xyz[3 * i + 1];
    if (x >= lx && x <= hx && y >= ly && y <= hy) picked.push(index ? index[i] : i);
  }
  return picked;
}

/** Indices (as pointsInRectangle) of the points within `radius` of world (x, y) seen from
 * above (any height), for the brush of point segmentation. */
export function pointsNear(xyz, index, x, y, radius) {
  const picked = [];
  const r2 = radius * radius;
  for (let i = 0, n = xyz.length / 3; i < n; i++) {
    const dx = xyz[3 * i] - x;
    const dy = xyz[3 * i + 1] - y;
    if (dx * dx + dy * dy <= r2) picked.push(index ? index[i] : i);
  }
  return picked;
}

/** Indices (as pointsInRectangle) of the points whose world x, y fall inside a polygon of
 * [x, y] vertices (even-odd rule), for lasso selection in the top view. */
export function pointsInPolygon(xyz, index, polygon) {
  let [lx, ly, hx, hy] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of polygon) {
    lx = Math.min(lx, x);
    ly = Math.min(ly, y);
    hx = Math.max(hx, x);
    hy = Math.max(hy, y);
  }
  const picked = [];
  const n = polygon.length;
  for (let i = 0, count = xyz.length / 3; i < count; i++) {
    const x = xyz[3 * i];
    const y = xyz[3 * i + 1];
    if (x < lx || x > hx || y < ly || y > hy) continue;
    let inside = false;
    for (let a = 0, b = n - 1; a < n; b = a++) {
      const [ax, ay] = polygon[a];
      const [bx, by] = polygon[b];
      if (ay > y !== by > y && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) inside = !inside;
    }
    if (inside) picked.push(index ? index[i] : i);
  }
  return picked;
}

/** A stable colour of a class name, as the server's legend gives it (core/annotations3d). */
export function labelColour(label) {
  let digest = 0;
  for (const char of label) digest = (digest * 31 + char.codePointAt(0)) % 0x1000000;
  const hue = (digest % 360) / 360;
  const channel = (shift) => {
    const value = Math.abs(((hue + shift) % 1) * 6 - 3) - 1;
    return Math.floor(255 * (0.25 + 0.65 * Math.min(Math.max(value, 0), 1)) + 0.5);
  };
  const hex = [0, 1 / 3, 2 / 3].map((s) => channel(s).toString(16).padStart(2, "0")).join("");
  return `#${hex}`;
}
