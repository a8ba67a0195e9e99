// Pure geometry of the editor's shapes, in normalised [0, 1] image coordinates. A point is
// [x, y]; a rectangle is its two corners [TL, BR] (or any two opposite corners while drawn).

export const clamp = (v) => Math.min(1, Math.max(0, v));
export const round = (v) => Math.round(v * 1e6) / 1e6;

// A rectangle's two corners as top-left and bottom-right.
export function normalizeRectangle([[x1, y1], [x2, y2]]) {
  return [
    [Math.min(x1, x2), Math.min(y1, y2)],
    [Math.max(x1, x2), Math.max(y1, y2)],
  ];
}

// A rectangle's box {x, y, width, height} in pixels of an image width × height.
export function rectangleBox([[x1, y1], [x2, y2]], width, height) {
  return {
    x: Math.min(x1, x2) * width,
    y: Math.min(y1, y2) * height,
    width: Math.abs(x2 - x1) * width,
    height: Math.abs(y2 - y1) * height,
  };
}

// True when a drawn rectangle spans at least two pixels each way (smaller is a stray click).
export function bigEnough([[x1, y1], [x2, y2]], width, height) {
  return Math.abs(x2 - x1) * width >= 2 && Math.abs(y2 - y1) * height >= 2;
}

// The points of a polygon or line as clicked: a double click adds its point twice, so drop
// each point equal to the one before; then clamp into the image.
export function dropRepeats(points) {
  return points
    .filter((p, i) => i === 0 || p[0] !== points[i - 1][0] || p[1] !== points[i - 1][1])
    .map(([x, y]) => [clamp(x), clamp(y)]);
}

// The points moved by (dx, dy), as far as they go without leaving the image.
export function translate(points, dx, dy) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const mx = Math.min(1 - Math.max(...xs), Math.max(-Math.min(...xs), dx));
  const my = Math.min(1 - Math.max(...ys), Math.max(-Math.min(...ys), dy));
  return points.map(([x, y]) => [x + mx, y + my]);
}

// The points each moved by (dx, dy) and clamped into the image (arrow-key nudges).
export function nudge(points, dx, dy) {
  return points.map(([x, y]) => [clamp(x + dx), clamp(y + dy)]);
}

// A shape's handles: [x, y, key] where key "i,j" names what dragging it moves. A rectangle's
// corner takes its x from point i and its y from point j; any other point is "i,i". Cuboids
// have none.
export function handles(shape, points) {
  if (shape === "rectangle") {
    return [
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 1],
    ].map(([i, j]) => [points[i][0], points[j][1], `${i},${j}`]);
  }
  if (shape === "cuboid") return [];
  return points.map(([x, y], i) => [x, y, `${i},${i}`]);
}

// The points of a shape whose handle `key` (see handles) was dragged by (dx, dy) from
// `original`.
export function dragHandle(shape, original, key, dx, dy) {
  const [i, j] = key.split(",").map(Number);
  const points = original.map((p) => [...p]);
  if (shape === "rectangle") {
    points[i][0] = clamp(original[i][0] + dx);
    points[j][1] = clamp(original[j][1] + dy);
  } else {
    points[i] = [clamp(original[i][0] + dx), clamp(original[i][1] + dy)];
  }
  return points;
}

// A label's colour: the same label always gets the same hue.
export function colorOf(label) {
  let h = 0;
  for (const c of label || "") h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h} 85% 55%)`;
}

// The smart tool's prompt: a box drawn in view fractions as [x1, y1, x2, y2] image pixels.
export function boxInPixels(points, width, height) {
  const [[x1, y1], [x2, y2]] = normalizeRectangle(points);
  return [x1 * width, y1 * height, x2 * width, y2 * height];
}

// An assist service's polygon (image pixels) in view fractions, inside the image, repeats gone.
export function polygonFromPixels(polygon, width, height) {
  return dropRepeats(polygon.map(([x, y]) => [round(clamp(x / width)), round(clamp(y / height))]));
}

// The point pairs a landmark's edges join ({e1: [name, name]} over its named points).
export function skeletonEdges(g) {
  if (!g.edges || !g.names) return [];
  const at = Object.fromEntries(g.names.map((name, i) => [name, g.points[i]]));
  return Object.values(g.edges)
    .filter(([a, b]) => at[a] && at[b])
    .map(([a, b]) => [at[a], at[b]]);
}
