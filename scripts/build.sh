#!/usr/bin/env bash
# Builds the Worker into build/ (scripts/build-worker.sh: worker-build with local tools, wasm-opt,
# the lean entry) and the staff dashboard into build/dashboard (static assets, bundled by the
# esbuild wrangler brings). wrangler runs this as [build].
set -euo pipefail
cd "$(dirname "$0")/.."
# scripts/deploy.sh (and the deploy dry-run test) build first and then run wrangler, which would
# run this again as [build]: KEFU_PREBUILT=1 says build/ is already fresh.
if [ "${KEFU_PREBUILT:-}" = 1 ] && [ -f build/index.js ]; then exit 0; fi
bash scripts/build-worker.sh
bash scripts/build-dashboard.sh
