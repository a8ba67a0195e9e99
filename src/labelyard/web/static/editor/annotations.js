// The API's annotation layout <-> the editor's model.
//
// Objects are kept in one model, whatever the project type:
//   {id, shape, label, attributes: {name: value}, frames: {frameId: geometry}, extra}
// where a geometry is {points: [[x, y], ...], sensor: sensorId|null} in normalised [0, 1]
// coordinates (a rectangle is its two corners TL and BR). IMAGE jobs have the one frame "0".
// Keys the editor does not know are kept (`extra`) and given back untouched.
import { round } from "./geometry.js";

export const KEYS = {
  rectangle: "rectangles",
  polygon: "polygons",
  line: "lines",
  landmark: "landmarks",
  cuboid: "cuboids",
};
export const TRACKED = new Set(["VIDEO", "SENSOR_FUSION", "POINT_CLOUD_SEGMENTATION"]);

const GEOMETRY_KEYS = ["coordinates", "points", "edges", "sensor_id"];
const rest = (o, skip) => Object.fromEntries(Object.entries(o).filter(([k]) => !skip.includes(k)));
const number = (name) => Number(name.match(/\d+$/)[0]);

// A polygon's, line's or landmark's point names in drawing order: by number where every name
// ends in one (p1, p2, ... p10), else as sent.
export function pointNames(pts) {
  const names = Object.keys(pts);
  const numbered = names.every((n) => /\d+$/.test(n));
  return numbered ? names.sort((a, b) => number(a) - number(b)) : names;
}

// A geometry of the API as the model keeps it: points (a rectangle: TL and BR), the points'
// names (so edges still name them), the camera, and any other keys, given back untouched.
export function readGeometry(geometry, shape, keepExtra) {
  if (!geometry || typeof geometry !== "object") return null;
  const g = {
    points: null,
    sensor: geometry.sensor_id || null,
    extra: keepExtra ? rest(geometry, GEOMETRY_KEYS) : {},
  };
  if (shape === "rectangle") {
    const [tl, , br] = geometry.coordinates || [];
    if (!tl || !br) return null;
    g.points = [
      [tl.x, tl.y],
      [br.x, br.y],
    ];
    return g;
  }
  const pts = geometry.points;
  if (!pts || typeof pts !== "object") return null;
  g.names = pointNames(pts);
  g.points = g.names.map((k) => [pts[k].x, pts[k].y]);
  if (geometry.edges) g.edges = geometry.edges;
  return g;
}

// An object's geometry on a frame in the API's layout.
export function geometryOf(obj, frame) {
  const g = obj.frames[frame];
  const out = { ...(g.extra || {}) };
  if (obj.shape === "rectangle") {
    const [[x1, y1], [x2, y2]] = g.points;
    const [l, r, t, b] = [
      Math.min(x1, x2),
      Math.max(x1, x2),
      Math.min(y1, y2),
      Math.max(y1, y2),
    ].map(round);
    out.coordinates = [
      { x: l, y: t },
      { x: r, y: t },
      { x: r, y: b },
      { x: l, y: b },
    ];
  } else {
    // The names as loaded while the points are the same ones (moved, not added or removed).
    const kept = g.names && g.names.length === g.points.length;
    const names = kept ? g.names : g.points.map((_, i) => `p${i + 1}`);
    out.points = {};
    g.points.forEach(([x, y], i) => {
      out.points[names[i]] = { x: round(x), y: round(y) };
    });
    if (kept && g.edges) out.edges = g.edges;
  }
  if (g.sensor) out.sensor_id = g.sensor;
  return out;
}

export function wrapAttributes(values) {
  const out = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k] = { value: v };
  return out;
}

export function unwrapAttributes(attrs) {
  const out = {};
  for (const [k, v] of Object.entries(attrs || {})) {
    out[k] = v && typeof v === "object" ? v.value : v;
  }
  return out;
}

// Trackers the 2D editor does not draw (3D cuboids, point labels of the 3D editor): kept aside
// and given back untouched, so opening a lidar job's cameras in 2D loses none of them.
export function otherTrackers(base, annotations) {
  if (!TRACKED.has(base)) return [];
  return (annotations || []).filter((t) => !(t.type in KEYS));
}

// The model's objects of a job of type `base` from its annotations (a draft or pre-labels).
export function fromAnnotations(base, annotations) {
  const objects = [];
  if (TRACKED.has(base)) {
    for (const t of annotations || []) {
      if (!(t.type in KEYS)) continue;
      const frames = {};
      for (const [fid, geometry] of Object.entries(t.frames || {})) {
        const g = readGeometry(geometry, t.type, true);
        if (g) frames[fid] = g;
      }
      objects.push({
        id: t._id,
        shape: t.type,
        label: t.label,
        attributes: unwrapAttributes(t.attributes),
        frames,
        extra: rest(t, ["_id", "type", "label", "attributes", "frames"]),
      });
    }
    return objects;
  }
  for (const [shape, key] of Object.entries(KEYS)) {
    for (const o of annotations?.[key] || []) {
      const g = readGeometry(o, shape);
      if (!g) continue;
      objects.push({
        id: o._id,
        shape,
        label: o.label,
        attributes: unwrapAttributes(o.attributes),
        frames: { 0: g },
        extra: rest(o, ["_id", "label", "attributes", "coordinates", "points", "edges"]),
      });
    }
  }
  return objects;
}

// The annotations (the API's layout) of the model's objects of a job of type `base`.
export function toAnnotations(base, objects) {
  if (TRACKED.has(base)) {
    return objects
      .filter((o) => Object.keys(o.frames).length)
      .map((o) => {
        const frames = {};
        for (const fid of Object.keys(o.frames)) frames[fid] = geometryOf(o, fid);
        return {
          ...o.extra,
          _id: o.id,
          type: o.shape,
          label: o.label,
          attributes: wrapAttributes(o.attributes),
          frames,
        };
      });
  }
  const out = { rectangles: [], polygons: [], lines: [], landmarks: [], cuboids: [] };
  for (const o of objects) {
    out[KEYS[o.shape]].push({
      ...o.extra,
      _id: o.id,
      label: o.label,
      attributes: wrapAttributes(o.attributes),
      ...geometryOf(o, "0"),
    });
  }
  return out;
}
