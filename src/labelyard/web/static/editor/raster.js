// Pure rasterising of segmentation masks. A mask is {width, height, data} where data is a
// Uint8Array of width × height label values, row by row: 0 is unlabelled, v > 0 is the v-th
// entry of the mask's legend. Points are in pixels of the image; a pixel (x, y) is covered
// when its centre (x + 0.5, y + 0.5) is (no antialiasing: every pixel has one label).

export function emptyMask(width, height) {
  return { width, height, data: new Uint8Array(width * height) };
}

export function copyMask(mask) {
  return { width: mask.width, height: mask.height, data: new Uint8Array(mask.data) };
}

// The squared distance from (px, py) to the segment a-b.
function distance2(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  const t = length2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length2)) : 0;
  const x = ax + t * dx - px;
  const y = ay + t * dy - py;
  return x * x + y * y;
}

// Paint every pixel within `radius` of the segment a-b (a disc where a = b) with `value`.
export function paintSegment(mask, a, b, radius, value) {
  const { width, height, data } = mask;
  const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - radius));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(a[0], b[0]) + radius));
  const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - radius));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(a[1], b[1]) + radius));
  const r2 = radius * radius;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (distance2(x + 0.5, y + 0.5, a, b) <= r2) data[y * width + x] = value;
    }
  }
}

// Fill the polygon (even-odd rule) with `value`.
export function fillPolygon(mask, points, value) {
  const { width, height, data } = mask;
  if (points.length < 3) return;
  const ys = points.map((p) => p[1]);
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(...ys)));
  for (let y = y0; y <= y1; y++) {
    const cy = y + 0.5;
    const crossings = [];
    for (let i = 0; i < points.length; i++) {
      const [ax, ay] = points[i];
      const [bx, by] = points[(i + 1) % points.length];
      if (ay <= cy !== by <= cy) crossings.push(ax + ((cy - ay) * (bx - ax)) / (by - ay));
    }
    crossings.sort((p, q) => p - q);
    for (let i = 0; i + 1 < crossings.length; i += 2) {
      // pixels whose centre lies between the two crossings
      const from = Math.max(0, Math.ceil(crossings[i] - 0.5));
      const to = Math.min(width - 1, Math.floor(crossings[i + 1] - 0.5));
      for (let x = from; x <= to; x++) data[y * width + x] = value;
    }
  }
}

// Apply a stroke: {kind: "brush"|"eraser"|"fill", value, radius (pixels), points (normalised)}.
export function applyStroke(mask, stroke) {
  const pts = stroke.points.map(([x, y]) => [x * mask.width, y * mask.height]);
  const value = stroke.kind === "eraser" ? 0 : stroke.value;
  if (stroke.kind === "fill") return fillPolygon(mask, pts, value);
  for (let i = 0; i < pts.length; i++) {
    paintSegment(mask, pts[Math.max(0, i - 1)], pts[i], stroke.radius, value);
  }
}

// Apply the last segment of a brush or eraser stroke (its newest point), as it is drawn.
export function applyLastSegment(mask, stroke) {
  const n = stroke.points.length;
  const [a, b] = [stroke.points[Math.max(0, n - 2)], stroke.points[n - 1]];
  const value = stroke.kind === "eraser" ? 0 : stroke.value;
  const px = ([x, y]) => [x * mask.width, y * mask.height];
  paintSegment(mask, px(a), px(b), stroke.radius, value);
}

export function isEmpty(mask) {
  return !mask.data.some((v) => v !== 0);
}

// The i-th legend colour (#rrggbb): well apart in hue, and never the same for two entries.
export function legendColour(i) {
  const hue = (i * 137.508) % 360;
  const light = [0.5, 0.35, 0.65][Math.floor(i / 12) % 3];
  const a = 0.9 * Math.min(light, 1 - light);
  const channel = (n) => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (light - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  const rgb = [channel(0), channel(8), channel(4)];
  return `#${rgb.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

// Distinct colours for n legend entries.
export function legendColours(n) {
  const out = [];
  const taken = new Set();
  for (let i = 0; out.length < n; i++) {
    const c = legendColour(i);
    if (!taken.has(c)) {
      taken.add(c);
      out.push(c);
    }
  }
  return out;
}

export function hexToRgb(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// The mask as RGBA pixels: value v in colours[v - 1] (opaque), 0 transparent. Written a word
// per pixel (a 1920 × 1080 mask in a few milliseconds: it is redrawn while painting).
export function toRGBA(mask, colours) {
  const out = new Uint8ClampedArray(mask.width * mask.height * 4);
  const words = new Uint32Array(out.buffer);
  const table = new Uint32Array(colours.length + 1);
  colours.forEach((hex, i) => {
    const [r, g, b] = hexToRgb(hex);
    table[i + 1] = LITTLE_ENDIAN
      ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0
      : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
  });
  const { data } = mask;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v && v < table.length) words[i] = table[v];
  }
  return out;
}

// A mask from RGBA pixels and a legend {"#rrggbb": entry}, where entryValue(entry) is the label
// value of an entry. Pixels that are (mostly) transparent or of a colour not in the legend stay
// unlabelled.
export function fromRGBA(rgba, width, height, legend, entryValue) {
  const mask = emptyMask(width, height);
  const byColour = new Map();
  for (const [hex, entry] of Object.entries(legend || {})) {
    byColour.set(Number.parseInt(hex.slice(1), 16), entryValue(entry));
  }
  for (let i = 0; i < width * height; i++) {
    if (rgba[i * 4 + 3] < 128) continue;
    const key = (rgba[i * 4] << 16) | (rgba[i * 4 + 1] << 8) | rgba[i * 4 + 2];
    mask.data[i] = byColour.get(key) || 0;
  }
  return mask;
}
