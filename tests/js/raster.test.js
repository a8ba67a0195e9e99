// Mask rasterising (src/labelyard/web/static/editor/raster.js) and the model's mask strokes
// with undo/redo; no DOM.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EditorModel, legendEntry } from "../../src/labelyard/web/static/editor/model.js";
import {
  applyStroke,
  emptyMask,
  fillPolygon,
  fromRGBA,
  hexToRgb,
  isEmpty,
  legendColours,
  paintSegment,
  toRGBA,
} from "../../src/labelyard/web/static/editor/raster.js";

const count = (mask, value) => mask.data.filter((v) => v === value).length;
const at = (mask, x, y) => mask.data[y * mask.width + x];

test("a disc covers the pixels whose centre is within the radius", () => {
  const mask = emptyMask(20, 20);
  paintSegment(mask, [10, 10], [10, 10], 3, 2);
  for (let y = 0; y < 20; y++) {
    for (let x = 0; x < 20; x++) {
      const inside = (x + 0.5 - 10) ** 2 + (y + 0.5 - 10) ** 2 <= 9;
      assert.equal(at(mask, x, y), inside ? 2 : 0, `pixel ${x},${y}`);
    }
  }
});

test("a segment is a capsule; painting is clipped to the mask", () => {
  const mask = emptyMask(30, 10);
  paintSegment(mask, [-5, 5], [40, 5], 1, 1);
  assert.equal(count(mask, 1), 30 * 2); // rows 4 and 5 (centres 4.5 and 5.5), whole width
  assert.equal(at(mask, 0, 4), 1);
  assert.equal(at(mask, 0, 3), 0);
});

test("a polygon fill covers the pixel centres inside it", () => {
  const mask = emptyMask(10, 10);
  fillPolygon(
    mask,
    [
      [2, 2],
      [8, 2],
      [8, 6],
      [2, 6],
    ],
    3,
  );
  assert.equal(count(mask, 3), 6 * 4);
  assert.equal(at(mask, 2, 2), 3);
  assert.equal(at(mask, 8, 2), 0);
  const triangle = emptyMask(10, 10);
  fillPolygon(
    triangle,
    [
      [0, 0],
      [10, 0],
      [0, 10],
    ],
    1,
  );
  assert.equal(count(triangle, 1), 55); // the centres on or below the diagonal x + y = 10
});

test("strokes in normalised points; the eraser clears", () => {
  const mask = emptyMask(100, 50);
  applyStroke(mask, { kind: "brush", value: 1, radius: 5, points: [[0.5, 0.5]] });
  const painted = count(mask, 1);
  assert.ok(painted > 70 && painted < 90, painted); // π·25 ≈ 78
  applyStroke(mask, { kind: "eraser", value: 0, radius: 50, points: [[0.5, 0.5]] });
  assert.ok(isEmpty(mask));
});

test("legend colours are distinct; RGBA round trip", () => {
  const colours = legendColours(200);
  assert.equal(new Set(colours).size, 200);
  for (const c of colours) assert.match(c, /^#[0-9a-f]{6}$/);
  assert.deepEqual(hexToRgb("#ff8001"), [255, 128, 1]);
  const mask = emptyMask(4, 2);
  mask.data.set([0, 1, 2, 0, 2, 2, 1, 0]);
  const rgba = toRGBA(mask, colours.slice(0, 2));
  assert.equal(rgba[3], 0);
  assert.equal(rgba[7], 255);
  const legend = { [colours[0]]: "car", [colours[1]]: "road" };
  const values = { car: 1, road: 2 };
  const back = fromRGBA(rgba, 4, 2, legend, (entry) => values[entry]);
  assert.deepEqual([...back.data], [...mask.data]);
  const unknown = fromRGBA(new Uint8ClampedArray([1, 2, 3, 255]), 1, 1, legend, () => 9);
  assert.equal(unknown.data[0], 0); // a colour not in the legend stays unlabelled
});

function segmentation() {
  const schema = { classes: [{ name: "car", shapes: ["polygon"] }, { name: "road" }] };
  return { base: "SEGMENTATION", data: { image_url: "http://x/a.png" }, draft: null, schema };
}

test("the model paints strokes by class and instance, undone and redone", () => {
  const kinds = [];
  const model = new EditorModel(segmentation(), (kind) => kinds.push(kind));
  assert.equal(model.setTool("brush"), true);
  assert.deepEqual(
    model.classesFor("brush").map((c) => c.name),
    ["car", "road"],
  );
  model.maskOf("0", 100, 100);
  model.label = "road";
  model.setBrushSize(10);
  model.beginStroke("brush", [0.2, 0.2]);
  model.extendStroke([0.8, 0.2]);
  model.endStroke();
  const first = count(model.labels("0"), 1);
  assert.ok(first > 1000);
  assert.deepEqual(model.legend, ["road"]);
  model.label = "car";
  model.setInstance(2);
  assert.equal(
    model.fillPolygon([
      [0.5, 0.5],
      [0.9, 0.5],
      [0.9, 0.9],
    ]),
    true,
  );
  assert.deepEqual(model.legend, ["road", legendEntry("car", 2)]);
  assert.equal(legendEntry("car", 2), "car # 2");
  model.beginStroke("eraser", [0.2, 0.2]);
  model.endStroke();
  const erased = count(model.labels("0"), 1);
  assert.ok(erased < first);
  assert.ok(count(model.labels("0"), 2) > 0);

  model.undo(); // the eraser
  assert.equal(count(model.labels("0"), 1), first);
  model.undo(); // the fill
  assert.equal(count(model.labels("0"), 2), 0);
  model.redo();
  assert.ok(count(model.labels("0"), 2) > 0);
  model.undo();
  model.setInstance(0);
  model.beginStroke("brush", [0.5, 0.9]); // a new stroke drops what was undone
  model.endStroke();
  assert.equal(model.future.length, 0);
  assert.equal(model.masks["0"].strokes.length, 2);
  model.redo();
  assert.equal(count(model.labels("0"), 2), 0);
  assert.ok(count(model.labels("0"), 3) > 0);
  assert.deepEqual(model.legend, ["road", "car # 2", "car"]);
  assert.ok(kinds.includes("edit"));
});

test("mask tools are refused outside SEGMENTATION; brush sizes are bounded", () => {
  const model = new EditorModel({ base: "IMAGE", data: {}, draft: null, schema: {} });
  assert.equal(model.setTool("brush"), false);
  assert.equal(model.tool, "select");
  model.setBrushSize(1000);
  assert.equal(model.brushSize, 100);
  model.setBrushSize(0);
  assert.equal(model.brushSize, 1);
});

test("a base mask (pre-labels) is kept under the strokes; a wrong size is refused", () => {
  const model = new EditorModel(segmentation());
  const base = emptyMask(10, 10);
  base.data.fill(1);
  assert.equal(model.setMaskBase("0", base, { id: "m1" }), true);
  model.setTool("eraser");
  model.brushSize = 2;
  model.beginStroke("eraser", [0.5, 0.5]);
  model.endStroke();
  assert.ok(count(model.labels("0"), 1) < 100 && count(model.labels("0"), 1) > 80);
  assert.equal(model.setMaskBase("0", emptyMask(5, 5)), false);
  model.undo();
  assert.equal(count(model.labels("0"), 1), 100);
});

test("a video's segmentation: its frames, masks per frame, no shape tools", () => {
  const frames = [
    { frame_id: "a", src: "http://x/a.png" },
    { frame_id: "b", src: "http://x/b.png" },
  ];
  const job = {
    base: "SEGMENTATION",
    data: { video_data: { frames } },
    draft: null,
    schema: { classes: [{ name: "car" }] },
  };
  const model = new EditorModel(job);
  assert.deepEqual(model.frames, ["a", "b"]);
  assert.equal(model.masksOnly, true);
  assert.equal(model.setTool("rectangle"), false);
  assert.equal(model.setTool("brush"), true);
  model.maskOf("a", 10, 10);
  model.maskOf("b", 10, 10);
  model.beginStroke("brush", [0.5, 0.5]);
  model.endStroke();
  model.step(1);
  model.brushSize = 1;
  model.beginStroke("brush", [0.05, 0.05]);
  model.endStroke();
  assert.ok(count(model.labels("a"), 1) > 20);
  assert.equal(count(model.labels("b"), 1), 3); // radius 1 at (0.5, 0.5): 3 centres
  model.undo();
  assert.equal(count(model.labels("b"), 1), 0);
  assert.ok(count(model.labels("a"), 1) > 20);
});

test("the legend holds at most 255 entries (a byte per pixel)", () => {
  const model = new EditorModel(segmentation());
  model.setTool("brush");
  model.maskOf("0", 4, 4);
  model.label = "car";
  for (let i = 1; i <= 255; i++) {
    model.setInstance(i);
    assert.equal(model.beginStroke("brush", [0.5, 0.5]), true);
    model.endStroke();
  }
  model.setInstance(256);
  assert.equal(model.beginStroke("brush", [0.5, 0.5]), false);
  assert.equal(model.legend.length, 255);
  assert.equal(model.labels("0").data[5], 255);
});

test("the brush outline follows the pointer only while painting tools are in use", () => {
  const kinds = [];
  const model = new EditorModel(segmentation(), (kind) => kinds.push(kind));
  model.setCursor(null, [0.5, 0.5]);
  assert.equal(model.cursor, undefined); // the select tool: no outline, nothing announced
  model.setTool("brush");
  model.setCursor(null, [0.5, 0.5]);
  assert.deepEqual(model.cursor, { sensor: null, point: [0.5, 0.5] });
  model.setCursor(null, null);
  assert.equal(model.cursor, null);
  assert.deepEqual(
    kinds.filter((k) => k === "cursor"),
    ["cursor", "cursor"],
  );
});
