// Keyframe interpolation (src/labelyard/web/static/editor/interpolation.js) and the model's use.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  frameKinds,
  geometryAt,
  inBetween,
  lerpPoints,
} from "../../src/labelyard/web/static/editor/interpolation.js";
import { EditorModel } from "../../src/labelyard/web/static/editor/model.js";

const ORDER = ["a", "b", "c", "d", "e", "f"];
const close = (actual, expected) => {
  assert.equal(actual.length, expected.length);
  actual.forEach((p, i) => {
    assert.ok(Math.abs(p[0] - expected[i][0]) < 1e-9 && Math.abs(p[1] - expected[i][1]) < 1e-9);
  });
};

function rectangle(frames) {
  return { id: "r", shape: "rectangle", frames };
}

test("in-between frames of a rectangle equal the linear values", () => {
  const from = [
    [0.1, 0.2],
    [0.3, 0.4],
  ];
  const to = [
    [0.5, 0.2],
    [0.9, 0.8],
  ];
  const obj = rectangle({ a: { points: from, extra: {} }, e: { points: to, extra: {} } });
  const between = inBetween(obj, ORDER);
  assert.deepEqual(Object.keys(between), ["b", "c", "d"]);
  for (const [fid, t] of [
    ["b", 0.25],
    ["c", 0.5],
    ["d", 0.75],
  ]) {
    const expected = from.map(([x, y], i) => [x + (to[i][0] - x) * t, y + (to[i][1] - y) * t]);
    close(between[fid].points, expected);
    assert.equal(between[fid].extra.interpolated, true);
  }
  close(geometryAt(obj, "c", ORDER).points, lerpPoints(from, to, 0.5));
  assert.equal(geometryAt(obj, "a", ORDER), obj.frames.a); // a keyframe is itself
  assert.equal(geometryAt(obj, "f", ORDER), null); // after the last keyframe: absent
  assert.deepEqual(frameKinds(obj, ORDER), {
    a: "key",
    b: "interpolated",
    c: "interpolated",
    d: "interpolated",
    e: "key",
  });
});

test("polygons interpolate point by point when their point counts match, not otherwise", () => {
  const tri = (dx) => [
    [0.1 + dx, 0.1],
    [0.2 + dx, 0.1],
    [0.15 + dx, 0.3],
  ];
  const obj = { shape: "polygon", frames: { a: { points: tri(0) }, c: { points: tri(0.4) } } };
  close(inBetween(obj, ORDER).b.points, tri(0.2));
  const square = [
    [0, 0],
    [1, 0],
    [1, 1],
    [0, 1],
  ];
  const mismatched = { shape: "polygon", frames: { a: { points: tri(0) }, c: { points: square } } };
  assert.deepEqual(inBetween(mismatched, ORDER), {});
});

test("a hidden keyframe stops interpolation until the next keyframe", () => {
  const box = (x) => [
    [x, 0.1],
    [x + 0.1, 0.2],
  ];
  const obj = rectangle({
    a: { points: box(0.1) },
    c: { points: box(0.3), extra: { hidden: true } },
    e: { points: box(0.5) },
    f: { points: box(0.6) },
  });
  assert.deepEqual(Object.keys(inBetween(obj, ORDER)), []); // a–c ends hidden, c–e starts so
  obj.frames.c.extra = { occluded: true }; // occluded is still seen: interpolates
  assert.deepEqual(Object.keys(inBetween(obj, ORDER)), ["b", "d"]);
});

test("the model sends in-between frames, marked, and moving one makes a keyframe", () => {
  const frames = ORDER.map((fid) => ({ frame_id: fid, src: `${fid}.png` }));
  const corners = (x) => [
    { x, y: 0.1 },
    { x: x + 0.2, y: 0.1 },
    { x: x + 0.2, y: 0.3 },
    { x, y: 0.3 },
  ];
  const draft = [
    {
      _id: "t1",
      type: "rectangle",
      label: "car",
      attributes: {},
      frames: { a: { coordinates: corners(0.1) }, e: { coordinates: corners(0.5) } },
    },
  ];
  const model = new EditorModel({
    base: "VIDEO",
    data: { video_data: { frames } },
    draft,
    schema: { classes: [{ name: "car", shapes: ["rectangle"], tracked: true, attributes: [] }] },
  });
  const [sent] = model.annotations();
  assert.deepEqual(Object.keys(sent.frames).sort(), ["a", "b", "c", "d", "e"]);
  assert.equal(sent.frames.c.interpolated, true);
  assert.deepEqual(sent.frames.c.coordinates[0], { x: 0.3, y: 0.1 });
  // Loaded again, in-between frames are recomputed, not kept as keyframes.
  const again = new EditorModel({ ...model.job, draft: model.annotations() });
  assert.deepEqual(Object.keys(again.objects[0].frames).sort(), ["a", "e"]);
  // Moving the object on an in-between frame makes it a keyframe there.
  model.showFrame("c");
  model.select("t1");
  model.move("t1", [
    [0.35, 0.1],
    [0.55, 0.3],
  ]);
  assert.deepEqual(Object.keys(model.objects[0].frames).sort(), ["a", "c", "e"]);
  model.setFrameFlag("t1", "occluded", true);
  assert.equal(model.annotations()[0].frames.c.occluded, true);
  model.showFrame("d");
  model.setFrameFlag("t1", "hidden", true);
  const hidden = model.annotations()[0];
  assert.equal(hidden.frames.d.hidden, true);
  assert.equal(hidden.frames.d.interpolated, undefined); // a keyframe now
});

test("after its last keyframe the selected object is held there, to be moved into a keyframe", () => {
  const frames = ORDER.map((fid) => ({ frame_id: fid, src: `${fid}.png` }));
  const model = new EditorModel({
    base: "VIDEO",
    data: { video_data: { frames } },
    draft: null,
    schema: { classes: [] },
  });
  const start = [
    [0.1, 0.1],
    [0.2, 0.2],
  ];
  const obj = model.add("rectangle", start);
  model.showFrame("e");
  assert.equal(model.shownGeometry(obj), null); // not part of the object there
  assert.deepEqual(model.geometry(obj.id).points, start); // but held for the selection
  model.move(obj.id, [
    [0.5, 0.1],
    [0.6, 0.2],
  ]);
  const [sent] = model.annotations();
  assert.deepEqual(Object.keys(sent.frames).sort(), ["a", "b", "c", "d", "e"]);
  assert.deepEqual(sent.frames.c.coordinates[0], { x: 0.3, y: 0.1 });
});

test("an object hidden on a frame is brought back by moving it on a later one", () => {
  const frames = ORDER.map((fid) => ({ frame_id: fid, src: `${fid}.png` }));
  const model = new EditorModel({
    base: "VIDEO",
    data: { video_data: { frames } },
    draft: null,
    schema: { classes: [] },
  });
  const obj = model.add("rectangle", [
    [0.1, 0.1],
    [0.2, 0.2],
  ]);
  model.showFrame("b");
  model.setFrameFlag(obj.id, "hidden", true);
  model.showFrame("e");
  assert.equal(model.shownGeometry(obj), null);
  model.move(obj.id, [
    [0.4, 0.1],
    [0.5, 0.2],
  ]);
  const [sent] = model.annotations();
  assert.deepEqual(Object.keys(sent.frames).sort(), ["a", "b", "e"]); // absent while hidden
  assert.equal(sent.frames.b.hidden, true);
  assert.equal(sent.frames.e.hidden, undefined);
});
