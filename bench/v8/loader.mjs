// Module hooks that let node load what wrangler bundles for workerd: `cloudflare:workers` (only
// WorkerEntrypoint, which the generated shim extends) and `import m from "./x.wasm"` as a
// compiled WebAssembly.Module, as workerd's wasm module rule gives it.
import { readFile } from "node:fs/promises";

const STUB = "kefu-bench:cloudflare-workers";

export async function resolve(specifier, context, next) {
  if (specifier === "cloudflare:workers") return { url: STUB, shortCircuit: true };
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url === STUB) {
    return {
      format: "module",
      shortCircuit: true,
      source: "export class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }",
    };
  }
  if (url.endsWith(".wasm")) {
    const bytes = await readFile(new URL(url));
    return {
      format: "module",
      shortCircuit: true,
      source: `export default new WebAssembly.Module(Uint8Array.from(atob(${JSON.stringify(
        bytes.toString("base64"),
      )}), (c) => c.charCodeAt(0)));`,
    };
  }
  return next(url, context);
}
