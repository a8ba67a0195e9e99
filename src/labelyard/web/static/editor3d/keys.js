// The 3D editor's keyboard shortcuts (listed on the page).
import { fitHeight } from "./model.js";

const DEGREE = Math.PI / 180;

/** Act on a key press for the page, unless the focus is in a form field. */
export function handleKey(page, event) {
  if (event.target.closest("input, select, textarea")) return;
  const k = event.key;
  const ctrl = event.ctrlKey || event.metaKey;
  const step = event.shiftKey ? 1 : 0.1;
  const turn = (event.shiftKey ? 1 : 5) * DEGREE;
  const grow = (group, axis, by) => () => page.edit((b) => (b[group][axis] += by));
  const actions = {
    1: () => page.view.setMode("perspective"),
    2: () => page.view.setMode("top"),
    v: () => page.setTool("select"),
    n: () => page.setTool("cuboid"),
    b: () => page.job.base === "POINT_CLOUD_SEGMENTATION" && page.setTool("points"),
    l: () => page.job.base === "POINT_CLOUD_SEGMENTATION" && page.setTool("lasso"),
    p: () => page.job.base === "POINT_CLOUD_SEGMENTATION" && page.setTool("brush"),
    ",": () => {
      page.brush = Math.max(0.1, page.brush - 0.1);
      page.status(`Brush ${page.brush.toFixed(1)} m`);
    },
    ".": () => {
      page.brush = Math.min(5, page.brush + 0.1);
      page.status(`Brush ${page.brush.toFixed(1)} m`);
    },
    f: () =>
      page.current &&
      page.edit((b) => {
        Object.assign(b, fitHeight(b, page.current.xyz));
      }),
    q: () => page.edit((b) => (b.rotation.yaw += turn)),
    e: () => page.edit((b) => (b.rotation.yaw -= turn)),
    ArrowUp: grow("position", "y", step),
    ArrowDown: grow("position", "y", -step),
    ArrowLeft: grow("position", "x", -step),
    ArrowRight: grow("position", "x", step),
    "[": grow("dimensions", "x", -0.1),
    "]": grow("dimensions", "x", 0.1),
    ";": grow("dimensions", "y", -0.1),
    "'": grow("dimensions", "y", 0.1),
    "-": grow("dimensions", "z", -0.1),
    "=": grow("dimensions", "z", 0.1),
    a: () => page.goTo(page.frameIndex - 1),
    d: () => page.goTo(page.frameIndex + 1),
    k: () => page.toggleKeyframe(),
    Delete: () => page.deleteSelected(),
    Backspace: () => page.deleteSelected(),
    Escape: () => {
      page.selected = null;
      page.setTool("select");
      page.refreshBoxes();
    },
  };
  if (ctrl && k.toLowerCase() === "z") {
    event.preventDefault();
    if (event.shiftKey) page.restore(page.future, page.past);
    else page.restore(page.past, page.future);
    return;
  }
  if (ctrl && k === "Enter") {
    event.preventDefault();
    if (page.job.step === "review") document.querySelector("#accept").click();
    else document.querySelector("#submit").click();
    return;
  }
  if (ctrl || event.altKey) return;
  const action = actions[k] || actions[k.toLowerCase()];
  if (!action) return;
  event.preventDefault();
  action();
  page.refreshPanels();
}
