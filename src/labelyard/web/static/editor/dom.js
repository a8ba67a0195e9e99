// Building DOM nodes.

export const SVG = "http://www.w3.org/2000/svg";

// An element with attributes (`text` sets its text); in the namespace `ns` if given.
export function el(tag, attrs = {}, ns = null) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  return node;
}
