// Makes the entry point worker-build generated call the Worker directly, without the Proxy it
// wraps the entry class in (a Proxy around each request's instance and an extra async frame
// around each handler: about a fifth of a trivial request's time in workerd; bench/README.md).
//
//   node scripts/lean-entry.mjs build/index.js
//
// What the Proxy adds is a second recovery path after a Rust panic (re-instantiate on the next
// request when the panic hook flagged `criticalError`). The first stays in the wasm-bindgen glue
// worker-build also generates: a trap marks the instance terminated and runs workers-rs's abort
// handler, which schedules a reset, and the glue re-instantiates the module on the next call into
// it (bench/v8.sh checks this on the build). Exported classes other than the entry (workers-rs's own, unused here) keep their Proxy.
// Fails, leaving the file as it was, unless it finds exactly one default export built as
// `X=new Proxy(Entry,Hooks)`: a new worker-build must be looked at, not patched blindly.
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
writeFileSync(file, source.replace(whole, `${exported[0][1]}=${entry}`));
console.error(`lean-entry: ${file}: the default export is the entry class itself (was ${whole})`);

function fail(why) {
  console.error(`lean-entry: ${file}: ${why}; left unchanged`);
  process.exit(1);
}
