// The annotate page's keyboard shortcuts: a key press as a command, or null if the page has
// none for it. Pure: the page carries the command out.
//   {key, ctrlKey, metaKey, shiftKey} and whether focus is in a form field (typing)
//   -> [name, ...arguments]

export const TOOL_KEYS = {
  v: "select",
  r: "rectangle",
  p: "polygon",
  l: "line",
  k: "landmark",
  b: "brush",
  e: "eraser",
  f: "fill",
  s: "smart",
};

const ARROWS = { arrowleft: [-1, 0], arrowright: [1, 0], arrowup: [0, -1], arrowdown: [0, 1] };

export function commandFor(e, typing) {
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && e.key === "Enter") return ["send"];
  if (typing) return null;
  const key = e.key.toLowerCase();
  if (ctrl) {
    if (key === "z") return [e.shiftKey ? "redo" : "undo"];
    if (key === "y") return ["redo"];
    return null;
  }
  if (Object.hasOwn(TOOL_KEYS, key)) return ["tool", TOOL_KEYS[key]];
  if (/^[1-9]$/.test(key)) return ["label", Number(key) - 1];
  if (Object.hasOwn(ARROWS, key)) {
    const step = e.shiftKey ? 10 : 1;
    return ["nudge", ARROWS[key][0] * step, ARROWS[key][1] * step];
  }
  if (key === "[" || key === "]") return ["brush-size", key === "[" ? -1 : 1];
  const simple = {
    enter: "finish",
    escape: "escape",
    delete: "delete",
    backspace: "delete",
    "+": "zoom-in",
    "=": "zoom-in",
    "-": "zoom-out",
    0: "fit",
    a: "previous",
    d: "next",
    c: "copy-next",
    " ": "play",
  };
  return Object.hasOwn(simple, key) ? [simple[key]] : null;
}
