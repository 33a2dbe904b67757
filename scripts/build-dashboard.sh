#!/usr/bin/env bash
# Builds the staff dashboard (dashboard/: Preact, htm, Chart.js) into build/dashboard, the static
# assets wrangler serves at / ([assets] in wrangler.toml), with the esbuild that wrangler brings.
# scripts/build.sh runs it after the Worker; run it alone to rebuild only the page (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/dashboard
rm -rf "$out"
mkdir -p "$out"
cp dashboard/index.html dashboard/_headers "$out/"
# app.js and app.css, and chunks loaded when needed (the charts only on the Stats view).
node_modules/.bin/esbuild app=dashboard/src/main.js --bundle --splitting --minify --format=esm --target=es2020 \
  --chunk-names='chunk-[hash]' --legal-comments=linked --outdir="$out" --log-level=warning
