#!/usr/bin/env bash
# Builds a Rust Worker crate into its build/ with worker-build, using local tools instead of the
# binaries worker-build would otherwise download (see TOOLCHAIN.md), then shrinks the wasm and
# leans its entry. scripts/build.sh builds kefu-edge with it; bench/workerd.sh its Rust baseline.
#
#   bash scripts/build-worker.sh [CRATE_DIR]   (default: the repository, kefu-edge itself)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "${1:-$root}"
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export ESBUILD_BIN="${ESBUILD_BIN:-$root/node_modules/.bin/esbuild}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$root/node_modules/.bin/wasm-opt}"
worker-build --release
# Optimise for size and drop the names section (function names for stack traces: the panic hook
# still logs the panic's message and place). The features are those workerd runs and
# worker-build would enable. --low-memory-unused lets constant offsets fold into loads and
# stores (Rust puts its stack, growing down, and its data at and above 1 MiB: no pointer is ever
# below 1024): -3.0 KB gzip. (--converge took 0.45 KB more for twice the time: not worth it.)
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm -Oz --low-memory-unused --strip-debug \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
# The entry class without worker-build's per-request Proxy (why, and what still recovers a
# panicked instance: scripts/lean-entry.mjs).
node "$root/scripts/lean-entry.mjs" build/index.js
