#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for ${1:-60} seconds each (or, given a second argument, until
# that many executions if sooner) and prints, per target, the executions, seconds taken and
# crashes (an input that crashes is kept under fuzz/artifacts/<target>/).
# Exits non-zero if any target crashed. cargo-fuzz needs nightly compiler flags; this machine's
# one toolchain is stable, so they are enabled with RUSTC_BOOTSTRAP (for this build only).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
RUNS_EACH=${2:--1}
CARGO_FUZZ_VERSION=0.13.2
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked >&2
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
cargo fuzz build -O --fuzz-dir . >&2
crashed=0
passed=0
failed=0
printf '%-18s %12s %8s %8s\n' target executions seconds crashes
for target in $(cargo fuzz list --fuzz-dir .); do
  mkdir -p "corpus/$target"
  log=$(mktemp)
  started=$(date +%s)
  if cargo fuzz run -O --fuzz-dir . "$target" "corpus/$target" -- \
      -max_total_time="$SECONDS_EACH" -runs="$RUNS_EACH" -max_len=16384 -print_final_stats=1 >"$log" 2>&1; then
    crashes=0
    passed=$((passed + 1))
  else
    crashes=1
    crashed=1
    failed=$((failed + 1))
    grep -E "panicked|ERROR|SUMMARY|artifact" "$log" | head -5 >&2 || true
  fi
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  printf '%-18s %12s %8s %8s\n' "$target" "${runs:-?}" "$(($(date +%s) - started))" "$crashes"
  rm -f "$log"
done
echo "fuzz: $passed passed, $failed failed"
exit "$crashed"
