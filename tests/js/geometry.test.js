// The editor's pure geometry (src/labelyard/web/static/editor/geometry.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bigEnough,
  boxInPixels,
  clamp,
  colorOf,
  dragHandle,
  dropRepeats,
  handles,
  normalizeRectangle,
  nudge,
  polygonFromPixels,
  rectangleBox,
  round,
  translate,
} from "../../src/labelyard/web/static/editor/geometry.js";

test("clamp keeps a coordinate inside the image, round keeps six decimals", () => {
  assert.deepEqual([clamp(-0.5), clamp(0.25), clamp(1.5)], [0, 0.25, 1]);
  assert.equal(round(0.12345678), 0.123457);
});

test("a rectangle drawn from any corner is kept as top-left and bottom-right", () => {
  assert.deepEqual(
    normalizeRectangle([
      [0.8, 0.1],
      [0.2, 0.6],
    ]),
    [
      [0.2, 0.1],
      [0.8, 0.6],
    ],
  );
  assert.deepEqual(
    rectangleBox(
      [
        [0.5, 0.5],
        [0.25, 0.75],
      ],
      200,
      100,
    ),
    { x: 50, y: 50, width: 50, height: 25 },
  );
});

test("a rectangle under two pixels either way is a stray click", () => {
  const points = [
    [0.1, 0.1],
    [0.104, 0.5],
  ];
  assert.equal(bigEnough(points, 200, 100), false); // 0.8 px wide
  assert.equal(bigEnough(points, 1000, 100), true); // 4 px wide
  assert.equal(bigEnough(points, 1000, 4), false); // 1.6 px high
});

test("a double click's repeated point is dropped and points are clamped", () => {
  const clicked = [
    [0.1, 0.1],
    [0.5, -0.2],
    [0.5, -0.2],
    [0.1, 0.1],
  ];
  assert.deepEqual(dropRepeats(clicked), [
    [0.1, 0.1],
    [0.5, 0],
    [0.1, 0.1],
  ]);
});

test("a moved shape stops at the image's edge without changing shape", () => {
  const points = [
    [0.25, 0.25],
    [0.5, 0.5],
  ];
  assert.deepEqual(translate(points, 0.75, -0.5), [
    [0.75, 0],
    [1, 0.25],
  ]);
  // A nudge clamps each point on its own.
  assert.deepEqual(nudge(points, 0.625, 0), [
    [0.875, 0.25],
    [1, 0.5],
  ]);
});

test("a rectangle has four corner handles, a polygon one per point, a cuboid none", () => {
  const rect = [
    [0.1, 0.2],
    [0.3, 0.4],
  ];
  assert.deepEqual(handles("rectangle", rect), [
    [0.1, 0.2, "0,0"],
    [0.3, 0.2, "1,0"],
    [0.3, 0.4, "1,1"],
    [0.1, 0.4, "0,1"],
  ]);
  assert.deepEqual(handles("polygon", rect), [
    [0.1, 0.2, "0,0"],
    [0.3, 0.4, "1,1"],
  ]);
  assert.deepEqual(handles("cuboid", rect), []);
});

test("dragging a rectangle's corner moves one x and one y; a vertex moves alone", () => {
  const rect = [
    [0.1, 0.2],
    [0.3, 0.4],
  ];
  // The top-right corner: x of point 1, y of point 0.
  assert.deepEqual(dragHandle("rectangle", rect, "1,0", 0.5, -0.5), [
    [0.1, 0],
    [0.8, 0.4],
  ]);
  assert.deepEqual(dragHandle("polygon", rect, "0,0", 0.1, 0.1), [
    [0.2, 0.30000000000000004],
    [0.3, 0.4],
  ]);
  assert.deepEqual(rect[0], [0.1, 0.2], "the original is left as it was");
});

test("a label always gets the same colour", () => {
  assert.equal(colorOf("car"), colorOf("car"));
  assert.notEqual(colorOf("car"), colorOf("bus"));
  assert.match(colorOf(""), /^hsl\(0 /);
});

test("the smart tool's box goes out in image pixels and its polygon comes back in fractions", () => {
  const box = [
    [0.75, 0.5],
    [0.25, 0.1],
  ];
  assert.deepEqual(boxInPixels(box, 800, 600), [200, 60, 600, 300]);
  const polygon = [
    [200, 60],
    [200, 60],
    [600, 60],
    [900, 300],
    [-4, 300],
  ];
  assert.deepEqual(polygonFromPixels(polygon, 800, 600), [
    [0.25, 0.1],
    [0.75, 0.1],
    [1, 0.5],
    [0, 0.5],
  ]);
});
