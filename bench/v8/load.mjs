// Loads the built Worker in node as workerd would: what workerd gives a module Worker and node
// has not is `cloudflare:workers` (worker-build's entry class, still in the bundle though
// scripts/lean-entry.mjs exports an object of handlers, extends WorkerEntrypoint) and
// `import m from "./x.wasm"` as a compiled WebAssembly.Module. Shared by bench/v8/run.mjs (the
// timing of each route) and bench/v8/cold.mjs (one cold start per process).
import { registerHooks } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

registerHooks({
  resolve(specifier, context, next) {
    if (specifier === "cloudflare:workers") return { url: "bench:cloudflare-workers", shortCircuit: true };
    return next(specifier, context);
  },
  load(url, context, next) {
    if (url === "bench:cloudflare-workers") {
      const source = "export class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }";
      return { format: "module", source, shortCircuit: true };
    }
    if (url.endsWith(".wasm")) {
      // The compile is timed on its own (workerd compiles the module when it loads the Worker).
      const source = `const bytes = process.getBuiltinModule("node:fs").readFileSync(new URL(${JSON.stringify(url)}));
const started = performance.now();
const compiled = new WebAssembly.Module(bytes);
globalThis.__benchCompileMs = performance.now() - started;
export default compiled;`;
      return { format: "module", source, shortCircuit: true };
    }
    // The bundle is an ES module, as workerd is told; node would first try it as CommonJS
    // (the repository's package.json names no type) and time the reparse as the load's.
    if (url.startsWith("file:") && url.endsWith("/index.js")) return next(url, { ...context, format: "module" });
    return next(url, context);
  },
});
globalThis.addEventListener ??= () => {};

// The default export ({ fetch, queue, scheduled }), and the milliseconds its load took: the
// wasm's compile, and the rest (the glue evaluated, the module instantiated).
export async function loadWorker(buildDir) {
  const started = performance.now();
  const { default: Worker } = await import(pathToFileURL(resolve(buildDir, "index.js")).href);
  const loadMs = performance.now() - started;
  const compileMs = globalThis.__benchCompileMs;
  return { Worker, compileMs, instantiateMs: loadMs - compileMs };
}
