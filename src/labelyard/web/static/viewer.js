// The owner's job viewer: the job's data with its annotations drawn, read-only.
import { Editor } from "./editor/editor.js";
import { refreshFrameStrip } from "./editor/frame-strip.js";
import { $, readJson } from "./page.js";

function main() {
  const strip = $("#frame-strip");
  let editor = null; // the editor's first load reports before it is assigned
  editor = new Editor($("#editor"), readJson("job"), {
    readonly: true,
    onChange: () => editor && refreshFrameStrip(strip, editor.model),
  });
  refreshFrameStrip(strip, editor.model);
}

main();
