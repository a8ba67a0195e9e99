// The annotate page's keyboard shortcuts (src/labelyard/web/static/work/keys.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import { commandFor } from "../../src/labelyard/web/static/work/keys.js";

const press = (key, mods = {}, typing = false) => commandFor({ key, ...mods }, typing);

test("tools, labels and frames have single keys", () => {
  assert.deepEqual(press("r"), ["tool", "rectangle"]);
  assert.deepEqual(press("V"), ["tool", "select"]);
  assert.deepEqual(press("3"), ["label", 2]);
  assert.deepEqual(press("d"), ["next"]);
  assert.deepEqual(press(" "), ["play"]);
  assert.deepEqual(press("Backspace"), ["delete"]);
  assert.equal(press("0")[0], "fit");
  assert.equal(press("x"), null);
  assert.equal(press("constructor"), null, "only the table's own keys");
});

test("arrows nudge by a pixel, ten with Shift", () => {
  assert.deepEqual(press("ArrowLeft"), ["nudge", -1, 0]);
  assert.deepEqual(press("ArrowDown", { shiftKey: true }), ["nudge", 0, 10]);
});

test("Ctrl or Cmd: undo, redo and send; other combinations are the browser's", () => {
  assert.deepEqual(press("z", { ctrlKey: true }), ["undo"]);
  assert.deepEqual(press("Z", { metaKey: true, shiftKey: true }), ["redo"]);
  assert.deepEqual(press("y", { ctrlKey: true }), ["redo"]);
  assert.equal(press("r", { ctrlKey: true }), null);
  assert.deepEqual(press("Enter", { ctrlKey: true }, true), ["send"]);
});

test("keys typed into a form field are the field's", () => {
  assert.equal(press("r", {}, true), null);
  assert.equal(press("z", { ctrlKey: true }, true), null);
});
