#!/usr/bin/env bash
# The bill: counts each callback's billable operations in the built Worker (wrangler dev, local
# KV/Queue/D1, mock upstream APIs on 127.0.0.1; bench/cost.mjs) and prices them (kefu-bill,
# src/bin/kefu-bill.rs) at the list prices in src/bill.rs. CPU time comes from bench/v8.sh's
# bench/.work/v8.json when it exists. Prints Markdown tables on stdout; progress on stderr.
#
#   bash bench/cost.sh [--no-build] [--before bench/.work/usage-before.json] [cost.mjs options]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
build=1; before=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --before) before=(--before "$2"); shift 2 ;;
    *) break ;;
  esac
done
if [ "$build" = 1 ]; then
  bash scripts/setup.sh >&2
  bash scripts/build.sh >&2
fi
node bench/cost.mjs --out bench/.work/usage.json "$@"
cpu=()
[ -f bench/.work/v8.json ] && cpu=(--v8 bench/.work/v8.json)
cargo run --quiet --release --bin kefu-bill -- bench/.work/usage.json "${cpu[@]}" "${before[@]}"
