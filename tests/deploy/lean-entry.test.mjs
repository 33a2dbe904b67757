// scripts/lean-entry.mjs, which scripts/build.sh runs on worker-build's bundle: the default export
// becomes the entry class itself, nothing else changes, and an unknown shape is refused untouched.
// The last test reads the real build/, which scripts/test.sh builds before these tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SCRIPT = path.join(ROOT, "scripts/lean-entry.mjs");

function run(source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lean-entry-"));
  const file = path.join(dir, "index.js");
  fs.writeFileSync(file, source);
  const result = spawnSync(process.execPath, [SCRIPT, file], { encoding: "utf8" });
  return { status: result.status, stderr: result.stderr, output: fs.readFileSync(file, "utf8") };
}

// The shape of worker-build 0.8.7's minified shim: the entry and its other classes in Proxies.
const BUNDLE =
  "var E=class extends Ie{};E.prototype.fetch=function(e){return Y.call(this,e,this.env,this.ctx)};" +
  "var We=new Proxy(E,M),ke=new Proxy(I,M);export{ke as ContainerStartupOptions,We as default};";

test("the default export becomes the entry class; other classes keep their Proxy", () => {
  const { status, output } = run(BUNDLE);
  assert.equal(status, 0);
  assert.equal(output, BUNDLE.replace("We=new Proxy(E,M)", "We=E"));
  assert.match(output, /ke=new Proxy\(I,M\)/);
});

test("a bundle of another shape is refused and left as it was", () => {
  for (const source of [
    "var E=class{};export{E as default};", // no Proxy: already lean, or a new worker-build
    "var We=new Proxy(E,M);var We=new Proxy(F,M);export{We as default};", // built twice
    "var We=new Proxy(E,M);export{We as ContainerStartupOptions};", // no default export
  ]) {
    const { status, stderr, output } = run(source);
    assert.equal(status, 1, source);
    assert.match(stderr, /left unchanged/);
    assert.equal(output, source);
  }
});

test("the built Worker's default export is its entry class, not a Proxy", () => {
  const built = path.join(ROOT, "build/index.js");
  assert.ok(fs.existsSync(built), "build/index.js is missing: run bash scripts/build.sh first");
  const source = fs.readFileSync(built, "utf8");
  const name = source.match(/export\s*\{[^}]*?([\w$]+) as default\}/)[1];
  assert.doesNotMatch(source, new RegExp(`(?<![\\w$])${name.replace(/\$/g, "\\$")}=new Proxy\\(`));
  assert.match(source, /prototype\.fetch=function/);
});
