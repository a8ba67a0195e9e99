// What the consensus review draws of each version
// (src/labelyard/web/static/work/versions.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import { classCounts, drawable } from "../../src/labelyard/web/static/work/versions.js";

const box = (label, l, t, r, b) => ({
  _id: `${label}${l}`,
  label,
  attributes: {},
  coordinates: [
    { x: l, y: t },
    { x: r, y: t },
    { x: r, y: b },
    { x: l, y: b },
  ],
});

test("an image version's shapes come out in view fractions, polygons in point order", () => {
  const shapes = drawable("IMAGE", {
    rectangles: [box("car", 0.1, 0.2, 0.4, 0.5)],
    polygons: [
      {
        _id: "p",
        label: "roof",
        attributes: {},
        points: { p10: { x: 0.9, y: 0.9 }, p1: { x: 0.1, y: 0.1 }, p2: { x: 0.5, y: 0.1 } },
      },
    ],
  });
  assert.deepEqual(shapes, [
    {
      shape: "rectangle",
      label: "car",
      points: [
        [0.1, 0.2],
        [0.4, 0.5],
      ],
    },
    {
      shape: "polygon",
      label: "roof",
      points: [
        [0.1, 0.1],
        [0.5, 0.1],
        [0.9, 0.9],
      ],
    },
  ]);
});

test("a video version draws the shapes of the frame shown", () => {
  const trackers = [
    {
      _id: "t",
      type: "rectangle",
      label: "car",
      attributes: {},
      frames: { 0: box("car", 0, 0, 0.1, 0.1), 1: box("car", 0.2, 0.2, 0.3, 0.3) },
    },
  ];
  assert.deepEqual(drawable("VIDEO", trackers, "1")[0].points, [
    [0.2, 0.2],
    [0.3, 0.3],
  ]);
  assert.deepEqual(drawable("VIDEO", trackers, "5"), []);
});

test("class counts read as a caption, by class name", () => {
  const shapes = [{ label: "person" }, { label: "car" }, { label: "car" }];
  assert.equal(classCounts(shapes), "car 2 · person 1");
  assert.equal(classCounts([]), "");
});
