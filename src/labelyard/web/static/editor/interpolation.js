// Keyframe interpolation of VIDEO objects. Pure. An object's `frames` hold its keyframes, what
// the annotator drew: {frameId: {points, sensor, extra}}, where extra.hidden marks a frame the
// object is not seen on (it is absent until its next keyframe) and extra.occluded one it is
// hidden behind something. Between two keyframes that are not hidden, on one camera, with the
// same number of points (rectangles: their two corners), every frame gets the linear values.

// The point-by-point linear value at t in [0, 1] between two lists of points.
export function lerpPoints(a, b, t) {
  return a.map(([x, y], i) => [x + (b[i][0] - x) * t, y + (b[i][1] - y) * t]);
}

function flag(g, name) {
  return Boolean(g?.extra?.[name]);
}

// The in-between frames of an object: {frameId: geometry} for each frame of `order` (the job's
// frame ids in order) between two keyframes that interpolate, marked extra.interpolated.
export function inBetween(obj, order) {
  const out = {};
  const keys = order.filter((fid) => obj.frames[fid]);
  for (let k = 0; k + 1 < keys.length; k++) {
    const [from, to] = [obj.frames[keys[k]], obj.frames[keys[k + 1]]];
    if (flag(from, "hidden") || flag(to, "hidden")) continue;
    if (from.points.length !== to.points.length || (from.sensor || null) !== (to.sensor || null)) {
      continue;
    }
    const [i, j] = [order.indexOf(keys[k]), order.indexOf(keys[k + 1])];
    for (let f = i + 1; f < j; f++) {
      out[order[f]] = {
        points: lerpPoints(from.points, to.points, (f - i) / (j - i)),
        sensor: from.sensor || null,
        names: from.names,
        edges: from.edges,
        extra: { interpolated: true },
      };
    }
  }
  return out;
}

// An object's geometry on a frame: its keyframe, else the interpolated value, else null.
export function geometryAt(obj, frame, order) {
  return obj.frames[frame] || inBetween(obj, order)[frame] || null;
}

// How each frame of `order` stands for an object: "key", "interpolated", or absent.
export function frameKinds(obj, order) {
  const kinds = {};
  for (const fid of Object.keys(inBetween(obj, order))) kinds[fid] = "interpolated";
  for (const fid of Object.keys(obj.frames)) kinds[fid] = "key";
  return kinds;
}
