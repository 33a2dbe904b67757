#!/usr/bin/env bash
# Builds the Worker into build/ with worker-build, using local tools instead of the binaries
# worker-build would otherwise download (see TOOLCHAIN.md), and the staff dashboard into
# build/dashboard (static assets, bundled by the esbuild wrangler brings). wrangler runs this as
# [build].
set -euo pipefail
cd "$(dirname "$0")/.."
# scripts/deploy.sh (and the deploy dry-run test) build first and then run wrangler, which would
# run this again as [build]: KEFU_PREBUILT=1 says build/ is already fresh.
if [ "${KEFU_PREBUILT:-}" = 1 ] && [ -f build/index.js ]; then exit 0; fi
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
worker-build --release
# Optimise for size and drop the names section (function names for stack traces: the panic hook
# still logs the panic's message and place). The features are those workerd runs and
# worker-build would enable.
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm -Oz --strip-debug \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
# The entry class without worker-build's per-request Proxy (why, and what still recovers a
# panicked instance: scripts/lean-entry.mjs).
node scripts/lean-entry.mjs build/index.js
bash scripts/build-dashboard.sh
