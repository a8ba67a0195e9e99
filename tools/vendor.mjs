// Copies the browser modules the web UI imports from node_modules into
// src/labelyard/web/static/vendor/ (gitignored; shipped in the wheel, served under
// /ui/static/vendor/). Run by `make install` after `npm ci`, and by the Dockerfile.
//
// three's add-ons import the bare specifier "three", which a browser cannot resolve without an
// import map (an inline script, which the pages' CSP forbids), so the copies import the
// vendored module by its relative path instead.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const three = join(root, "node_modules", "three");
const out = join(root, "src", "labelyard", "web", "static", "vendor");

// [source under node_modules/three, name under vendor/]
const copied = [
  ["build/three.module.js", "three.module.js"],
  ["build/three.core.js", "three.core.js"],
  ["LICENSE", "three.LICENSE.txt"],
];
const rewritten = [["examples/jsm/controls/OrbitControls.js", "OrbitControls.js"]];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const [source, name] of copied) {
  copyFileSync(join(three, source), join(out, name));
}
const bare = /(\bfrom\s*)(["'])three\2/g;
for (const [source, name] of rewritten) {
  const text = readFileSync(join(three, source), "utf8");
  const fixed = text.replace(bare, "$1$2./three.module.js$2");
  const left = /^\s*(import|export|\})[^\n]*from\s*["']three[/"']/m;
  if (fixed === text || left.test(fixed)) {
    throw new Error(`${source}: expected exactly the bare import "three" to rewrite`);
  }
  writeFileSync(join(out, name), fixed);
}
const { version } = JSON.parse(readFileSync(join(three, "package.json"), "utf8"));
writeFileSync(join(out, "VERSION"), `three ${version}\n`);
console.log(`vendored three ${version} into ${out}`);
