// The API's annotation layout <-> the editor's model
// (src/labelyard/web/static/editor/annotations.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  fromAnnotations,
  otherTrackers,
  pointNames,
  toAnnotations,
} from "../../src/labelyard/web/static/editor/annotations.js";

const corners = (l, t, r, b) => [
  { x: l, y: t },
  { x: r, y: t },
  { x: r, y: b },
  { x: l, y: b },
];

test("numbered point names are read in number order, others as sent", () => {
  assert.deepEqual(pointNames({ p10: 0, p2: 0, p1: 0 }), ["p1", "p2", "p10"]);
  assert.deepEqual(pointNames({ nose: 0, eye: 0 }), ["nose", "eye"]);
});

test("an image job's annotations come back as they were sent", () => {
  const sent = {
    rectangles: [
      {
        _id: "r1",
        label: "car",
        attributes: { colour: { value: "red" } },
        coordinates: corners(0.1, 0.2, 0.3, 0.4),
        note: "kept",
      },
    ],
    polygons: [
      {
        _id: "p1",
        label: "road",
        attributes: {},
        points: { a: { x: 0.1, y: 0.1 }, b: { x: 0.2, y: 0.1 }, c: { x: 0.2, y: 0.2 } },
        edges: [["a", "b"]],
      },
    ],
    lines: [],
    landmarks: [],
    cuboids: [],
  };
  const objects = fromAnnotations("IMAGE", sent);
  assert.deepEqual(
    objects.map((o) => [o.id, o.shape, o.label]),
    [
      ["r1", "rectangle", "car"],
      ["p1", "polygon", "road"],
    ],
  );
  assert.deepEqual(objects[0].attributes, { colour: "red" });
  assert.deepEqual(toAnnotations("IMAGE", objects), sent);
});

test("a polygon whose points changed in number gets fresh names and loses its edges", () => {
  const [polygon] = fromAnnotations("IMAGE", {
    polygons: [
      {
        _id: "p1",
        label: "road",
        points: { a: { x: 0, y: 0 }, b: { x: 1, y: 0 }, c: { x: 1, y: 1 } },
        edges: [["a", "b"]],
      },
    ],
  });
  polygon.frames[0].points.push([0, 1]);
  const [out] = toAnnotations("IMAGE", [polygon]).polygons;
  assert.deepEqual(Object.keys(out.points), ["p1", "p2", "p3", "p4"]);
  assert.equal(out.edges, undefined);
});

test("a video job's tracks keep their frames, cameras and frame-level fields", () => {
  const sent = [
    {
      _id: "t1",
      type: "rectangle",
      label: "car",
      attributes: {},
      frames: {
        1: { coordinates: corners(0.1, 0.1, 0.2, 0.2), sensor_id: "cam", occluded: true },
        2: { coordinates: corners(0.2, 0.1, 0.3, 0.2), sensor_id: "cam" },
      },
    },
  ];
  const objects = fromAnnotations("VIDEO", sent);
  assert.equal(objects[0].frames[1].sensor, "cam");
  assert.deepEqual(toAnnotations("VIDEO", objects), sent);
});

test("a rectangle is sent with rounded corners in order, whichever way it was drawn", () => {
  const obj = {
    id: "r",
    shape: "rectangle",
    label: "x",
    attributes: { gone: undefined },
    extra: {},
    frames: {
      0: {
        points: [
          [0.30000001, 0.4],
          [0.1, 0.2],
        ],
        sensor: null,
      },
    },
  };
  const [rect] = toAnnotations("IMAGE", [obj]).rectangles;
  assert.deepEqual(rect.coordinates, corners(0.1, 0.2, 0.3, 0.4));
  assert.deepEqual(rect.attributes, {});
});

test("geometry without coordinates or points is left out", () => {
  const objects = fromAnnotations("IMAGE", {
    rectangles: [{ _id: "r", label: "x", coordinates: [] }],
    polygons: [{ _id: "p", label: "x" }],
  });
  assert.deepEqual(objects, []);
});

test("trackers the 2D editor does not draw (3D cuboids) are given back untouched", () => {
  const cuboid = {
    _id: "c1",
    type: "cuboid3d",
    label: "car",
    attributes: {},
    frames: { f0: { position: { x: 1, y: 2, z: 0 }, dimensions: { x: 4, y: 2, z: 1.5 } } },
  };
  const box = {
    _id: "r1",
    type: "rectangle",
    label: "car",
    attributes: {},
    frames: {
      f0: {
        coordinates: [
          { x: 0.1, y: 0.1 },
          { x: 0.2, y: 0.1 },
          { x: 0.2, y: 0.2 },
          { x: 0.1, y: 0.2 },
        ],
      },
    },
  };
  const objects = fromAnnotations("SENSOR_FUSION", [cuboid, box]);
  assert.deepEqual(
    objects.map((o) => o.id),
    ["r1"],
  );
  assert.deepEqual(otherTrackers("SENSOR_FUSION", [cuboid, box]), [cuboid]);
  assert.deepEqual(otherTrackers("IMAGE", { rectangles: [] }), []);
});
