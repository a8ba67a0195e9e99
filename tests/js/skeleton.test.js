// Landmark skeletons in the editor's model: points placed in the schema's order, named, joined.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toAnnotations } from "../../src/labelyard/web/static/editor/annotations.js";
import { skeletonEdges } from "../../src/labelyard/web/static/editor/geometry.js";
import { EditorModel } from "../../src/labelyard/web/static/editor/model.js";

const POSE = {
  points: ["head", "neck", "hip"],
  edges: [
    ["head", "neck"],
    ["neck", "hip"],
  ],
};

test("each click places the next named point; the last makes the pose", () => {
  const model = new EditorModel({
    base: "IMAGE",
    data: { image_url: "a.png" },
    draft: null,
    schema: { classes: [{ name: "person", shapes: ["landmark"], attributes: [], skeleton: POSE }] },
  });
  model.setTool("landmark");
  assert.equal(model.placeSkeletonPoint(null, [0.5, 0.1]), "neck");
  assert.equal(model.nextSkeletonPoint(), "neck");
  assert.equal(model.placeSkeletonPoint(null, [0.5, 0.3]), "hip");
  assert.equal(model.objects.length, 0);
  assert.equal(model.placeSkeletonPoint(null, [0.5, 0.7]), null);
  assert.equal(model.drawing, null);
  const [pose] = toAnnotations("IMAGE", model.objects).landmarks;
  assert.deepEqual(pose.points, {
    head: { x: 0.5, y: 0.1 },
    neck: { x: 0.5, y: 0.3 },
    hip: { x: 0.5, y: 0.7 },
  });
  assert.deepEqual(pose.edges, { e1: ["head", "neck"], e2: ["neck", "hip"] });
  assert.deepEqual(skeletonEdges(model.objects[0].frames["0"]), [
    [
      [0.5, 0.1],
      [0.5, 0.3],
    ],
    [
      [0.5, 0.3],
      [0.5, 0.7],
    ],
  ]);
  model.undo();
  assert.equal(model.objects.length, 0);
});
