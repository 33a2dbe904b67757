// scripts/lean-entry.mjs, which scripts/build.sh runs on worker-build's bundle: the default export
// becomes an object whose handlers forward to the same exports as the entry class's, nothing else
// changes, and an unknown shape is refused untouched.
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
  "E.prototype.queue=function(e){return Q.call(this,e,this.env,this.ctx)};" +
  "var We=new Proxy(E,M),ke=new Proxy(I,M);export{ke as ContainerStartupOptions,We as default};";

test("the default export becomes an object of the entry's handlers; other classes keep their Proxy", async () => {
  const { status, output } = run(BUNDLE);
  assert.equal(status, 0);
  const object = "{fetch(r,e,c){return Y.call(this,r,e,c)},queue(r,e,c){return Q.call(this,r,e,c)}}";
  assert.equal(output, BUNDLE.replace("We=new Proxy(E,M)", `We=${object}`));
  assert.match(output, /ke=new Proxy\(I,M\)/);
  // The handlers pass what the runtime gives them straight to the exports.
  const calls = [];
  const Y = (...args) => (calls.push(["fetch", ...args]), "response");
  const Q = (...args) => (calls.push(["queue", ...args]), "done");
  const handlers = new Function("Y", "Q", `return ${object}`)(Y, Q);
  assert.equal(handlers.fetch("req", "env", "ctx"), "response");
  assert.equal(handlers.queue("batch", "env", "ctx"), "done");
  assert.deepEqual(calls, [["fetch", "req", "env", "ctx"], ["queue", "batch", "env", "ctx"]]);
});

test("a bundle of another shape is refused and left as it was", () => {
  for (const source of [
    "var E=class{};export{E as default};", // no Proxy: already lean, or a new worker-build
    "var We=new Proxy(E,M);var We=new Proxy(F,M);export{We as default};", // built twice
    "var We=new Proxy(E,M);export{We as ContainerStartupOptions};", // no default export
    // an entry class with a body of its own
    "var E=class extends Ie{constructor(){super()}};E.prototype.fetch=function(e){return Y.call(this,e,this.env,this.ctx)};var We=new Proxy(E,M);export{We as default};",
    // a handler that does more than forward
    "var E=class extends Ie{};E.prototype.fetch=function(e){return Y.call(this,e,this.env,this.ctx)};E.prototype.queue=function(e){return Q.call(this,e,this.env)};var We=new Proxy(E,M);export{We as default};",
    // no handlers at all
    "var E=class extends Ie{};var We=new Proxy(E,M);export{We as default};",
  ]) {
    const { status, stderr, output } = run(source);
    assert.equal(status, 1, source);
    assert.match(stderr, /left unchanged/);
    assert.equal(output, source);
  }
});

test("the built Worker's default export is an object of fetch, queue and scheduled, not a Proxy", () => {
  const built = path.join(ROOT, "build/index.js");
  assert.ok(fs.existsSync(built), "build/index.js is missing: run bash scripts/build.sh first");
  const source = fs.readFileSync(built, "utf8");
  const name = source.match(/export\s*\{[^}]*?([\w$]+) as default\}/)[1];
  const escaped = name.replace(/\$/g, "\\$");
  assert.doesNotMatch(source, new RegExp(`(?<![\\w$])${escaped}=new Proxy\\(`));
  assert.match(source, new RegExp(`(?<![\\w$])${escaped}=\\{fetch\\(r,e,c\\)\\{return [\\w$]+\\.call\\(this,r,e,c\\)\\},queue\\(r,e,c\\)`));
  assert.match(source, /scheduled\(r,e,c\)\{return [\w$]+\.call\(this,r,e,c\)\}\}/);
});
