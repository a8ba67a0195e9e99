// Which reference images a frame shows (src/labelyard/web/static/editor/references.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import { referencesFor } from "../../src/labelyard/web/static/editor/references.js";

test("image form: every reference on every frame", () => {
  const data = {
    reference_data: {
      raster: { images: [{ image_url: "https://h/side.png", label: "side" }, { label: "x" }] },
    },
  };
  assert.deepEqual(referencesFor(data, null), [{ label: "side", url: "https://h/side.png" }]);
  assert.deepEqual(referencesFor(data, "7"), [{ label: "side", url: "https://h/side.png" }]);
});

test("video form: a frame's own references only", () => {
  const data = {
    reference_data: {
      raster: {
        images: [
          { frame_id: "1", data: [{ label: "rear", image_url: "https://h/1r.png" }] },
          { frame_id: "2", data: [{ label: "rear", image_url: "https://h/2r.png" }] },
        ],
      },
    },
  };
  assert.deepEqual(referencesFor(data, "2"), [{ label: "rear", url: "https://h/2r.png" }]);
  assert.deepEqual(referencesFor(data, "3"), []);
  assert.deepEqual(referencesFor({}, "1"), []);
});
