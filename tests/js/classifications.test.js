// Classifications (src/labelyard/web/static/editor/classifications.js) and the model's answers.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  answerOf,
  missingAnswer,
  readAnswers,
  setAnswer,
  writeAnswers,
} from "../../src/labelyard/web/static/editor/classifications.js";
import { EditorModel } from "../../src/labelyard/web/static/editor/model.js";

const WEATHER = {
  name: "weather",
  per_frame: false,
  attributes: [{ name: "sky", type: "select", options: ["sun", "rain"], required: true }],
};
const VISIBILITY = {
  name: "visibility",
  per_frame: true,
  attributes: [{ name: "level", type: "select", options: ["good", "poor"], required: false }],
};

test("image answers go out as annotations.classifications and come back", () => {
  let answers = setAnswer({}, WEATHER, "0", "sky", "rain");
  const out = writeAnswers("IMAGE", [WEATHER], answers);
  assert.deepEqual(out, [
    { _id: "cls-weather", label: "weather", attributes: { sky: { value: "rain" } } },
  ]);
  assert.deepEqual(readAnswers("IMAGE", { classifications: out }).weather.attributes, {
    sky: "rain",
  });
  answers = setAnswer(answers, WEATHER, "0", "sky", undefined);
  assert.deepEqual(writeAnswers("IMAGE", [WEATHER], answers), []);
});

test("a per-frame answer is kept by frame in a classification tracker", () => {
  let answers = setAnswer({}, VISIBILITY, "f1", "level", "good");
  answers = setAnswer(answers, VISIBILITY, "f2", "level", "poor");
  assert.equal(answerOf(answers, VISIBILITY, "f2", "level"), "poor");
  assert.equal(answerOf(answers, VISIBILITY, "f3", "level"), undefined);
  const [tracker] = writeAnswers("VIDEO", [VISIBILITY], answers);
  assert.deepEqual(tracker, {
    _id: "cls-visibility",
    type: "classification",
    label: "visibility",
    frames: {
      f1: { attributes: { level: { value: "good" } } },
      f2: { attributes: { level: { value: "poor" } } },
    },
  });
  assert.deepEqual(readAnswers("VIDEO", [tracker]).visibility.frames.f1, { level: "good" });
});

test("a required attribute of an answered question is named until set", () => {
  const twoAttributes = {
    ...WEATHER,
    attributes: [...WEATHER.attributes, { name: "night", type: "boolean", required: false }],
  };
  assert.equal(missingAnswer([twoAttributes], {}), null);
  const partial = setAnswer({}, twoAttributes, "0", "night", true);
  assert.equal(missingAnswer([twoAttributes], partial), "weather: sky is required");
});

test("the model's answers are undoable and sent with the shapes", () => {
  const job = {
    base: "VIDEO",
    data: {
      video_data: {
        frames: [
          { frame_id: "f1", src: "a" },
          { frame_id: "f2", src: "b" },
        ],
      },
    },
    draft: [
      { _id: "w", type: "classification", label: "weather", attributes: { sky: { value: "sun" } } },
    ],
    schema: { classes: [], classifications: [WEATHER, VISIBILITY] },
  };
  const model = new EditorModel(job);
  assert.deepEqual(model.answers.weather.attributes, { sky: "sun" });
  model.showFrame("f2");
  model.answer("visibility", "level", "poor");
  const sent = model.annotations();
  assert.deepEqual(
    sent.map((t) => [t.type, t.label]),
    [
      ["classification", "weather"],
      ["classification", "visibility"],
    ],
  );
  assert.deepEqual(sent[1].frames, { f2: { attributes: { level: { value: "poor" } } } });
  model.undo();
  assert.equal(model.annotations().length, 1);
});
