// One cold start of the built Worker, in a process of its own (bench/v8/run.mjs runs it once per
// round): the wasm compiled, the glue evaluated and the module instantiated, then the first
// request (GET /healthz: what V8 compiles on first use is paid there). Prints
// {"compile_ms","instantiate_ms","first_request_ms"} on stdout.
//
//   node bench/v8/cold.mjs BUILD_DIR
import { loadWorker } from "./load.mjs";

// node loads its Request and Response (undici) on first use, ~50 ms that workerd, whose are
// built in, never pays: they are loaded before anything is timed.
const request = new Request("https://kefu.example/healthz");
await new Response("warm").text();

const { Worker, compileMs, instantiateMs } = await loadWorker(process.argv[2] ?? "build");
const started = performance.now();
const response = await Worker.fetch(request, {}, { waitUntil() {}, passThroughOnException() {} });
await response.text();
const firstRequestMs = performance.now() - started;
if (response.status !== 200) {
  console.error(`GET /healthz after a cold start: ${response.status}`);
  process.exit(1);
}
console.log(JSON.stringify({ compile_ms: compileMs, instantiate_ms: instantiateMs, first_request_ms: firstRequestMs }));
