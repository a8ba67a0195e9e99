// The owner's job viewer: the job's data with its annotations drawn, read-only.
import { Editor } from "./editor.js";

const job = JSON.parse(document.getElementById("job").textContent);
const strip = document.getElementById("frame-strip");
let editor = null;
editor = new Editor(document.getElementById("editor"), job, { readonly: true, onChange: refresh });

function refresh() {
  if (!editor || !strip || editor.frames.length < 2) return;
  if (!strip.childElementCount) {
    strip.replaceChildren(...editor.frames.map((fid, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = String(i + 1);
      button.title = `frame ${fid}`;
      button.dataset.frame = fid;
      button.addEventListener("click", () => editor.showFrame(fid));
      return button;
    }));
  }
  for (const button of strip.children) button.setAttribute("aria-current", String(button.dataset.frame === editor.frame));
}

refresh();
