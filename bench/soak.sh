#!/usr/bin/env bash
# The soak (not part of CI): builds the Worker, then sends `${1:-2000}` callbacks across every
# route with duplicates and upstream faults, and prints what happened to them (lost must be 0).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
bash scripts/build.sh >&2
exec node bench/soak.mjs "${1:-2000}"
