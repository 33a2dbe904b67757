// Makes the entry point worker-build generated a plain object whose handlers call the Worker's
// exports directly. worker-build exports its entry class (an empty class extending
// WorkerEntrypoint whose fetch/queue/scheduled forward to the wasm-bindgen exports) wrapped in a
// Proxy: a Proxy around each request's instance and an extra async frame around each handler.
// And for a class workerd constructs an instance per request, where an object's handlers are
// called as they are. Together they were about a third of a trivial request's CPU in workerd
// (bench/README.md, section 2).
//
//   node scripts/lean-entry.mjs build/index.js
//
// What the Proxy adds is a second recovery path after a Rust panic (re-instantiate on the next
// request when the panic hook flagged `criticalError`). The first stays in the wasm-bindgen glue
// worker-build also generates: a trap marks the instance terminated and runs workers-rs's abort
// handler, which schedules a reset, and the glue re-instantiates the module on the next call into
// it (bench/v8.sh checks this on the build). Exported classes other than the entry (workers-rs's
// own, unused here) keep their Proxy.
// Fails, leaving the file as it was, unless it finds exactly one default export built as
// `X=new Proxy(Entry,Hooks)`, an empty entry class, and handlers that only forward: a new
// worker-build must be looked at, not patched blindly.
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node scripts/lean-entry.mjs build/index.js");
  process.exit(2);
}
const source = readFileSync(file, "utf8");
const exported = [...source.matchAll(/export\s*\{([^}]*)\}/g)]
  .flatMap((m) => m[1].split(","))
  .map((s) => s.trim().match(/^([\w$]+)\s+as\s+default$/))
  .filter(Boolean);
if (exported.length !== 1) fail(`expected one "X as default" export, found ${exported.length}`);
const name = exported[0][1].replace(/\$/g, "\\$");
const built = [...source.matchAll(new RegExp(`(?<![\\w$])${name}\\s*=\\s*new Proxy\\(([\\w$]+),\\s*[\\w$]+\\)`, "g"))];
if (built.length !== 1) fail(`expected the default export built once as new Proxy(...), found ${built.length}`);
const [whole, entry] = built[0];
const entryName = entry.replace(/\$/g, "\\$");
if (!new RegExp(`(?<![\\w$])${entryName}=class extends [\\w$]+\\{\\}`).test(source)) {
  fail(`expected the entry class ${entry} to be empty`);
}
const handlers = [
  ...source.matchAll(
    new RegExp(
      `(?<![\\w$])${entryName}\\.prototype\\.([\\w$]+)=function\\(([\\w$]+)\\)\\{return ([\\w$]+)\\.call\\(this,\\2,this\\.env,this\\.ctx\\)\\}`,
      "g",
    ),
  ),
];
const defined = source.match(new RegExp(`(?<![\\w$])${entryName}\\.prototype\\.`, "g")) ?? [];
if (handlers.length === 0 || handlers.length !== defined.length) {
  fail(`expected every handler of ${entry} to forward (request, env, ctx) to an export`);
}
const object = `{${handlers.map(([, name, , target]) => `${name}(r,e,c){return ${target}.call(this,r,e,c)}`).join(",")}}`;
writeFileSync(file, source.replace(whole, `${exported[0][1]}=${object}`));
console.error(`lean-entry: ${file}: the default export is an object of ${handlers.map((h) => h[1]).join(", ")} (was ${whole})`);

function fail(why) {
  console.error(`lean-entry: ${file}: ${why}; left unchanged`);
  process.exit(1);
}
