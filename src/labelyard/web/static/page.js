// Bits every page script needs.

export const $ = (selector) => document.querySelector(selector);

// The JSON a template put in <script type="application/json" id="...">.
export function readJson(id) {
  return JSON.parse(document.getElementById(id).textContent);
}
