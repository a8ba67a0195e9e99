// Classifications: the schema's questions about the whole image (or video), or about each video
// frame (per_frame), answered with attributes. Pure: the model keeps the answers as
//   {name: {id, attributes: {attr: value}, frames: {frameId: {attr: value}}}}
// and these turn them to and from the API's layout:
//   IMAGE: annotations.classifications = [{_id, label, attributes: {attr: {value}}}]
//   VIDEO: trackers {_id, type: "classification", label, attributes} or, per frame,
//          {_id, type: "classification", label, frames: {frameId: {attributes}}}
import { unwrapAttributes, wrapAttributes } from "./annotations.js";

export const CLASSIFICATION = "classification";

const TRACKED = new Set(["VIDEO", "SENSOR_FUSION", "POINT_CLOUD_SEGMENTATION"]);

export function readAnswers(base, annotations) {
  const answers = {};
  const items = TRACKED.has(base)
    ? (annotations || []).filter((t) => t.type === CLASSIFICATION)
    : annotations?.classifications || [];
  for (const item of items) {
    const frames = {};
    for (const [fid, answer] of Object.entries(item.frames || {})) {
      frames[fid] = unwrapAttributes(answer.attributes);
    }
    answers[item.label] = { id: item._id, attributes: unwrapAttributes(item.attributes), frames };
  }
  return answers;
}

function answered(values) {
  return Object.values(values || {}).some((v) => v !== undefined);
}

// The answers in the API's layout, for the questions of `questions` (the schema's), skipping
// unanswered ones.
export function writeAnswers(base, questions, answers) {
  const out = [];
  for (const q of questions) {
    const a = answers[q.name];
    if (!a) continue;
    const id = a.id || `cls-${q.name}`;
    if (q.per_frame) {
      const frames = {};
      for (const [fid, values] of Object.entries(a.frames)) {
        if (answered(values)) frames[fid] = { attributes: wrapAttributes(values) };
      }
      if (Object.keys(frames).length) {
        out.push({ _id: id, type: CLASSIFICATION, label: q.name, frames });
      }
    } else if (answered(a.attributes)) {
      const item = { _id: id, label: q.name, attributes: wrapAttributes(a.attributes) };
      out.push(TRACKED.has(base) ? { ...item, type: CLASSIFICATION } : item);
    }
  }
  return out;
}

// The value of an attribute of a question, on `frame` for a per-frame one.
export function answerOf(answers, question, frame, attribute) {
  const a = answers[question.name];
  if (!a) return undefined;
  return (question.per_frame ? a.frames[frame] : a.attributes)?.[attribute];
}

// Set (or, with undefined, clear) an answer; returns the new answers (the old are unchanged).
export function setAnswer(answers, question, frame, attribute, value) {
  const a = structuredClone(answers[question.name] || { attributes: {}, frames: {} });
  if (question.per_frame && !a.frames[frame]) a.frames[frame] = {};
  const values = question.per_frame ? a.frames[frame] : a.attributes;
  if (value === undefined) delete values[attribute];
  else values[attribute] = value;
  return { ...answers, [question.name]: a };
}

// Why the answers are not valid yet: a required attribute of an answered question left empty.
export function missingAnswer(questions, answers) {
  const blank = (v) => v === undefined || v === "" || (Array.isArray(v) && !v.length);
  for (const q of questions) {
    const a = answers[q.name];
    if (!a) continue;
    const sets = q.per_frame ? Object.entries(a.frames) : [[null, a.attributes]];
    for (const [fid, values] of sets) {
      if (!answered(values)) continue;
      for (const attribute of q.attributes) {
        if (attribute.required && blank(values[attribute.name])) {
          return `${q.name}: ${attribute.name} is required${fid ? ` (frame ${fid})` : ""}`;
        }
      }
    }
  }
  return null;
}
