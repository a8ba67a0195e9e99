// Mask rasterising speed in node (the editor's pure raster.js): redrawing a 1920 × 1080 mask
// as RGBA (done on every pointer move while painting), a brush segment, and a polygon fill.
// Run: node bench/masks.mjs
import {
  applyStroke,
  emptyMask,
  fillPolygon,
  legendColours,
  paintSegment,
  toRGBA,
} from "../src/labelyard/web/static/editor/raster.js";

function time(name, runs, fn) {
  fn();
  const start = performance.now();
  for (let i = 0; i < runs; i++) fn();
  console.log(`${name}: ${((performance.now() - start) / runs).toFixed(2)} ms`);
}

const mask = emptyMask(1920, 1080);
applyStroke(mask, {
  kind: "brush",
  value: 1,
  radius: 40,
  points: [
    [0.1, 0.1],
    [0.9, 0.9],
  ],
});
const colours = legendColours(20);
time("toRGBA 1920x1080", 20, () => toRGBA(mask, colours));
time("brush segment r=40, 20 px long", 200, () =>
  paintSegment(mask, [500, 500], [520, 500], 40, 2),
);
const ring = Array.from({ length: 64 }, (_, i) => [
  960 + 500 * Math.cos((i / 64) * 2 * Math.PI),
  540 + 500 * Math.sin((i / 64) * 2 * Math.PI),
]);
time("fill a 64-gon of radius 500", 20, () => fillPolygon(mask, ring, 3));
