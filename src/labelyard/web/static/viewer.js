// The owner's job viewer: the job's data with its annotations drawn, read-only.
import { Editor, refreshFrameStrip } from "./editor.js";

const job = JSON.parse(document.getElementById("job").textContent);
const strip = document.getElementById("frame-strip");
let editor = null;
const refresh = () => { if (editor) refreshFrameStrip(strip, editor); };
editor = new Editor(document.getElementById("editor"), job, { readonly: true, onChange: refresh });
refresh();
