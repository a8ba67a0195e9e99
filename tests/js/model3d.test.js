// The 3D editor's model: layout decoding, boxes, fitting, interpolation, trackers.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  boxFromCorners,
  countInside,
  decodeLayout,
  fitHeight,
  fromAnnotations,
  interpolateBox,
  labelColour,
  pointsInPolygon,
  pointsInRectangle,
  pointsNear,
  toAnnotations,
  trackFrames,
} from "../../src/labelyard/web/static/editor3d/model.js";

function layout(points, index = null, overview = []) {
  // The server's layout (labelyard.core.pointcloud.browser_layout), written by hand.
  const pad = (n) => (4 - (n % 4)) % 4;
  const size =
    48 +
    overview.length * 13 +
    pad(overview.length) +
    points.length * 13 +
    pad(points.length) +
    (index ? index.length * 4 : 0);
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  view.setUint32(0, 0x4350594c, true);
  view.setUint32(4, 1, true);
  view.setUint32(8, points.length, true);
  view.setUint32(12, index ? index[index.length - 1] + 1 : points.length, true);
  view.setUint32(16, overview.length, true);
  view.setUint32(20, index ? 1 : 0, true);
  let offset = 48;
  for (const level of [overview, points]) {
    for (const p of level) {
      for (let c = 0; c < 3; c++) view.setFloat32(offset + 4 * c, p[c], true);
      offset += 12;
    }
    for (const p of level) view.setUint8(offset++, p[3] ?? 0);
    offset += pad(level.length);
  }
  for (const i of index || []) {
    view.setUint32(offset, i, true);
    offset += 4;
  }
  return buffer;
}

test("decodes the server's layout, with the file index of each point", () => {
  const cloud = decodeLayout(
    layout(
      [
        [1, 2, 3, 9],
        [4, 5, 6, 200],
      ],
      [0, 2],
      [[1, 2, 3, 9]],
    ),
  );
  assert.equal(cloud.count, 2);
  assert.equal(cloud.sourceCount, 3);
  assert.deepEqual(Array.from(cloud.xyz), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(cloud.intensity), [9, 200]);
  assert.deepEqual(Array.from(cloud.index), [0, 2]);
  assert.deepEqual(Array.from(cloud.overview.xyz), [1, 2, 3]);
  assert.throws(() => decodeLayout(new ArrayBuffer(60)), /not a labelyard point cloud/);
});

const CAR = new Float32Array([
  // a car's roof and sides between z 0.2 and 1.6 around (10, 2), ground outside
  9, 1.5, 0.2, 11, 2.5, 1.6, 10, 2, 1.0, 20, 20, 0, 10, 5, 0,
]);

test("a box drawn in the top view takes its length along the longer side", () => {
  const box = boxFromCorners([8, 1], [12, 3]);
  assert.deepEqual(box.position, { x: 10, y: 2, z: 0 });
  assert.deepEqual(box.dimensions, { x: 4, y: 2, z: 1.5 });
  assert.equal(box.rotation.yaw, 0);
  assert.equal(boxFromCorners([0, 0], [1, 3]).rotation.yaw, Math.PI / 2);
});

test("fitting sets z and height to the points inside the footprint", () => {
  const fitted = fitHeight(boxFromCorners([8, 1], [12, 3]), CAR);
  assert.ok(Math.abs(fitted.position.z - 0.9) < 1e-6);
  assert.ok(Math.abs(fitted.dimensions.z - 1.4) < 1e-6);
  assert.equal(countInside(fitted, CAR), 3);
});

test("interpolation is linear and turns the short way round", () => {
  const a = boxFromCorners([0, 0], [4, 2]);
  const b = { ...boxFromCorners([10, 0], [14, 2]), rotation: { roll: 0, pitch: 0, yaw: -3 } };
  a.rotation.yaw = 3;
  const half = interpolateBox(a, b, 0.5);
  assert.equal(half.position.x, 7);
  assert.ok(Math.abs(Math.abs(half.rotation.yaw) - Math.PI) < 1e-9);
});

test("a track spans its keyframes; frames between are interpolated and marked", () => {
  const frames = ["f0", "f1", "f2", "f3", "f4", "f5"];
  const track = {
    id: "t",
    label: "car",
    attributes: {},
    stationary: false,
    keyframes: { f1: boxFromCorners([0, 0], [4, 2]), f5: boxFromCorners([8, 0], [12, 2]) },
  };
  const spans = trackFrames(track, frames);
  assert.deepEqual(Object.keys(spans), ["f1", "f2", "f3", "f4", "f5"]);
  assert.equal(spans.f3.box.position.x, 6);
  assert.equal(spans.f3.keyframe, false);
  const [tracker] = toAnnotations([track], [], frames, (frame) => (frame === "f1" ? 7 : null));
  assert.equal(tracker.type, "cuboid3d");
  assert.equal(tracker.frames.f1.points_inside, 7);
  assert.equal(tracker.frames.f2.points_inside, undefined);
  assert.equal(tracker.frames.f4.position.x, 8);
  // Read back, only keyframes are kept as keyframes.
  const { tracks } = fromAnnotations([tracker]);
  assert.deepEqual(Object.keys(tracks[0].keyframes), ["f1", "f5"]);
});

test("box selection picks points by their file index", () => {
  const xyz = new Float32Array([0, 0, 0, 5, 5, 0, 1, 1, 3]);
  assert.deepEqual(pointsInRectangle(xyz, new Uint32Array([0, 4, 7]), 2, 2, -1, -1), [0, 7]);
});

test("class colours match the server's legend colours", () => {
  // labelyard.core.annotations3d.label_color("car"), ("road"), ("Fußgänger 🚶")
  assert.equal(labelColour("car"), "#e67740");
  assert.equal(labelColour("road"), "#98e640");
  assert.equal(labelColour("Fußgänger 🚶"), "#40e67f");
});

test("lasso selection picks the points inside a polygon", () => {
  const xyz = new Float32Array([0, 0, 0, 1.5, 0.5, 0, 0.9, 0.9, 1, -1, 0, 0, 0.5, 1.5, 0]);
  const triangle = [
    [-0.5, -0.5],
    [3, -0.5],
    [-0.5, 3],
  ];
  assert.deepEqual(pointsInPolygon(xyz, null, triangle), [0, 1, 2, 4]);
  assert.deepEqual(pointsInPolygon(xyz, new Uint32Array([5, 6, 7, 8, 9]), triangle), [5, 6, 7, 9]);
});

test("trackers drawn in 2D are kept aside, to be given back", () => {
  const box = { _id: "r1", type: "rectangle", label: "car", attributes: {}, frames: {} };
  const { tracks, others } = fromAnnotations([box]);
  assert.equal(tracks.length, 0);
  assert.deepEqual(others, [box]);
});

test("the brush picks the points within its radius, seen from above", () => {
  const xyz = new Float32Array([0, 0, 5, 0.3, 0.3, -1, 1, 0, 0]);
  assert.deepEqual(pointsNear(xyz, null, 0, 0, 0.5), [0, 1]);
  assert.deepEqual(pointsNear(xyz, new Uint32Array([3, 4, 5]), 1, 0, 0.1), [5]);
});
