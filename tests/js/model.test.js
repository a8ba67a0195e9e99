// The editor's model (src/labelyard/web/static/editor/model.js): commands, undo/redo, frames
// and tracks, and what it announces; no DOM.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  EditorModel,
  frameIds,
  HISTORY_LIMIT,
  sensorName,
  sensorsOf,
  sourceOf,
} from "../../src/labelyard/web/static/editor/model.js";

const RECT = [
  [0.1, 0.1],
  [0.5, 0.5],
];

function image(schema = { classes: [] }, draft = null) {
  return { base: "IMAGE", data: { image_url: "http://x/a.jpg" }, draft, schema };
}

function video(frames = 3) {
  const list = Array.from({ length: frames }, (_, i) => ({ frame_id: i + 1, src: `f${i + 1}` }));
  return { base: "VIDEO", data: { video_data: { frames: list } }, draft: [], schema: null };
}

function recorded(job) {
  const heard = [];
  const model = new EditorModel(job, (kind) => heard.push(kind));
  return { model, heard };
}

test("a job's frames, cameras and sources", () => {
  assert.deepEqual(frameIds(image()), ["0"]);
  assert.deepEqual(frameIds(video(2)), ["1", "2"]);
  assert.equal(sourceOf(video(2), null, "2"), "f2");
  assert.equal(sourceOf(image(), null, "0"), "http://x/a.jpg");
  const fusion = {
    base: "SENSOR_FUSION",
    data: {
      sensor_data: {
        sensor_meta: [
          { id: "lidar", modality: "lidar" },
          { id: "front", modality: "camera", name: "Front" },
          { id: "rear", modality: "camera" },
        ],
        frames: [{ frame_id: 7, sensors: [{ sensor_id: "rear", data_url: "r7" }] }],
      },
    },
  };
  assert.deepEqual(sensorsOf(fusion), ["front", "rear"]);
  assert.deepEqual(sensorsOf(image()), [null]);
  assert.equal(sensorName(fusion, "front"), "Front");
  assert.equal(sensorName(fusion, "rear"), "rear");
  assert.equal(sourceOf(fusion, "rear", "7"), "r7");
});

test("an added object is selected, undoable and redoable", () => {
  const { model, heard } = recorded(image());
  const obj = model.add("rectangle", RECT);
  assert.equal(obj.label, "object"); // a project without classes: any label, "object" first
  assert.equal(model.selected, obj.id);
  assert.deepEqual(heard, ["edit", "select"]);
  assert.equal(model.annotations().rectangles.length, 1);
  model.undo();
  assert.deepEqual(model.objects, []);
  assert.equal(model.selected, null, "the selection goes with its object");
  model.redo();
  assert.equal(model.objects[0].id, obj.id);
  assert.deepEqual([model.past.length, model.future.length], [1, 0]);
});

test("a command that changes nothing leaves no history and announces nothing", () => {
  const { model, heard } = recorded(image());
  const obj = model.add("rectangle", RECT);
  heard.length = 0;
  model.setAttribute(obj.id, "colour", undefined);
  model.setLabel("nobody", "car");
  assert.deepEqual(heard, []);
  assert.equal(model.past.length, 1);
});

test("the history keeps the last HISTORY_LIMIT changes", () => {
  const { model } = recorded(image());
  const obj = model.add("rectangle", RECT);
  for (let i = 0; i < HISTORY_LIMIT + 10; i++) model.setAttribute(obj.id, "n", i);
  assert.equal(model.past.length, HISTORY_LIMIT);
});

test("a new label clears the attributes; missing names a required one", () => {
  const schema = {
    classes: [
      { name: "car", shapes: ["rectangle"], attributes: [{ name: "colour", required: true }] },
      { name: "road", shapes: ["polygon"] },
    ],
  };
  const { model } = recorded(image(schema));
  assert.equal(model.label, "car");
  assert.deepEqual(
    model.classesFor("polygon").map((c) => c.name),
    ["road"],
  );
  const obj = model.add("rectangle", RECT);
  assert.equal(model.missing(), "car: colour is required");
  model.setAttribute(obj.id, "colour", "red");
  assert.equal(model.missing(), null);
  model.setLabel(obj.id, "road");
  assert.deepEqual(model.object(obj.id).attributes, {});
  model.setTool("polygon");
  assert.equal(model.label, "road");
});

test("a polygon is finished with three distinct points, a line with two", () => {
  const { model } = recorded(image());
  model.setTool("polygon");
  model.addDrawingPoint(null, [0.1, 0.1]);
  model.addDrawingPoint(null, [0.2, 0.1]);
  model.addDrawingPoint(null, [0.2, 0.1]); // a double click
  assert.equal(model.finishDrawing(), null);
  assert.deepEqual(model.objects, []);
  for (const p of [
    [0.1, 0.1],
    [0.2, 0.1],
    [0.2, 1.2],
  ]) {
    model.addDrawingPoint(null, p);
  }
  const polygon = model.finishDrawing();
  assert.deepEqual(polygon.frames[0].points, [
    [0.1, 0.1],
    [0.2, 0.1],
    [0.2, 1],
  ]);
  assert.equal(model.drawing, null);
  model.setTool("line");
  model.addDrawingPoint("front", [0.1, 0.1]);
  model.addDrawingPoint("rear", [0.3, 0.3]); // another view starts over
  assert.deepEqual(model.drawing, { sensor: "rear", shape: "line", points: [[0.3, 0.3]] });
  model.setTool("select");
  assert.equal(model.drawing, null, "another tool drops the shape being drawn");
});

test("a drag is one change: moves announce a redraw, the commit an edit", () => {
  const { model, heard } = recorded(image());
  const obj = model.add("rectangle", RECT);
  heard.length = 0;
  const before = model.snapshot();
  model.move(obj.id, [
    [0.2, 0.2],
    [0.6, 0.6],
  ]);
  model.move(obj.id, [
    [0.3, 0.3],
    [0.7, 0.7],
  ]);
  assert.equal(model.commit(before), true);
  assert.deepEqual(heard, ["draw", "draw", "edit"]);
  model.undo();
  assert.deepEqual(model.object(obj.id).frames[0].points, RECT);
  assert.equal(model.commit(model.snapshot()), false);
});

test("nudging moves the selected object within the image", () => {
  const { model } = recorded(image());
  assert.equal(model.nudgeSelected(0.1, 0), false);
  const obj = model.add("rectangle", RECT);
  assert.equal(model.nudgeSelected(0.6, -0.25), true);
  assert.deepEqual(model.object(obj.id).frames[0].points, [
    [0.7, 0],
    [1, 0.25],
  ]);
});

test("copy to the next frame makes a track; delete removes it on one frame only", () => {
  const { model, heard } = recorded(video(3));
  assert.equal(model.frame, "1");
  const obj = model.add("rectangle", RECT);
  heard.length = 0;
  assert.equal(model.copyToNextFrame(), true);
  assert.deepEqual(heard, ["edit", "frame"]);
  assert.equal(model.frame, "2");
  assert.deepEqual(Object.keys(model.object(obj.id).frames), ["1", "2"]);
  const [track] = model.annotations();
  assert.deepEqual(Object.keys(track.frames), ["1", "2"]);
  model.removeSelected();
  assert.deepEqual(Object.keys(model.object(obj.id).frames), ["1"]);
  model.removeSelected(); // not on this frame: nothing to delete here
  assert.equal(model.objects.length, 1);
  assert.equal(model.step(-1), true);
  model.removeSelected(); // its last frame: the object goes
  assert.deepEqual(model.objects, []);
  assert.equal(model.step(-1), false);
  assert.equal(model.showFrame("9"), false);
  assert.equal(model.frame, "1");
});

test("an object of an untracked class stays on one frame", () => {
  const job = { ...video(2), schema: { classes: [{ name: "sign", tracked: false }] } };
  const { model } = recorded(job);
  const obj = model.add("rectangle", RECT);
  model.copyToNextFrame();
  assert.deepEqual(Object.keys(model.object(obj.id).frames), ["1"]);
  obj.frames[2] = obj.frames[1];
  assert.equal(model.missing(), "sign objects are not tracked: keep one frame");
});

test("loading another job starts over but keeps the tool and label", () => {
  const { model } = recorded(image());
  model.setTool("rectangle");
  model.add("rectangle", RECT);
  model.load(image({ classes: [] }, { rectangles: [] }));
  assert.deepEqual([model.objects, model.past, model.selected], [[], [], null]);
  assert.deepEqual([model.tool, model.label], ["rectangle", "object"]);
});

test("the smart tool is offered only when the project has an assist service", () => {
  const job = { base: "IMAGE", data: { image_url: "a.png" }, draft: null };
  const plain = new EditorModel({ ...job, schema: { classes: [] } });
  assert.equal(plain.setTool("smart"), false);
  const schema = {
    classes: [
      { name: "car", shapes: ["polygon"] },
      { name: "sign", shapes: ["rectangle"] },
    ],
    assist: true,
  };
  const assisted = new EditorModel({ ...job, schema });
  assert.equal(assisted.setTool("smart"), true);
  assert.deepEqual(
    assisted.classesFor("smart").map((c) => c.name),
    ["car"],
  );
  assert.equal(assisted.label, "car");
});
