#!/usr/bin/env bash
# Fails when the Worker's wasm is over its size budget: 350 KB (350,000 B) gzipped. Every cold
# start compiles it, and its size is deterministic, so scripts/test.sh checks it after the
# build; timings stay in the benchmarks. Where the bytes go: bash bench/size.sh.
#
#   bash scripts/wasm-budget.sh [WASM]   (default: build/index_bg.wasm)
set -euo pipefail
BUDGET=350000
wasm="${1:-$(cd "$(dirname "$0")/.." && pwd)/build/index_bg.wasm}"
if [ ! -f "$wasm" ]; then
  echo "wasm budget: no $wasm: build it first (bash scripts/build.sh)" >&2
  exit 1
fi
size=$(gzip -9 -c "$wasm" | wc -c)
if [ "$size" -gt "$BUDGET" ]; then
  echo "wasm budget: $wasm is $size B gzip -9, over its budget of $BUDGET B (350 KB) by $((size - BUDGET)) B; bash bench/size.sh shows where the bytes go" >&2
  exit 1
fi
echo "wasm budget: $wasm is $size B gzip -9, within its budget of $BUDGET B (350 KB): $((BUDGET - size)) B left"
