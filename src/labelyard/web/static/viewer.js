// The owner's job viewer: the job's data with its annotations drawn, read-only.
import { Editor } from "./editor/editor.js";
import { refreshFrameStrip } from "./editor/frame-strip.js";
import { enlarge, referencesFor, refreshReferences } from "./editor/references.js";
import { $, readJson } from "./page.js";

function main() {
  const strip = $("#frame-strip");
  const job = readJson("job");
  const dialog = $("#reference-dialog");
  dialog.addEventListener("click", () => dialog.close());
  let editor = null; // the editor's first load reports before it is assigned
  const refresh = () => {
    refreshFrameStrip(strip, editor.model);
    refreshReferences($("#references"), referencesFor(job.data, editor.model.frame), (ref) =>
      enlarge(dialog, ref),
    );
  };
  editor = new Editor($("#editor"), job, {
    readonly: true,
    onChange: () => editor && refresh(),
  });
  refresh();
}

main();
