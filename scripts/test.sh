#!/usr/bin/env bash
# Runs every test: host unit tests of the core, then end-to-end tests against the real built
# Worker in wrangler dev with mock upstream APIs on 127.0.0.1. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "== host unit tests (cargo test)"
cargo test --all-targets

echo "== build the Worker, and kefu-check (which tests/e2e/check.test.mjs runs) outside any test's timeout"
bash scripts/build.sh
cargo build --release --bin kefu-check

echo "== the wasm's size budget: 350 KB gzipped (deterministic, so checked here; timings are benchmarks)"
bash scripts/wasm-budget.sh

echo "== end-to-end tests (wrangler dev), deploy script, dashboard in Chromium"
# One file at a time: each starts its own Worker, and the machine has two cores.
node --test --test-concurrency=1 --test-timeout=300000 tests/e2e/*.test.mjs tests/deploy/*.test.mjs tests/browser/*.test.mjs

echo "== fuzz targets: a short smoke of each, so they keep building (bash scripts/fuzz.sh N for real runs)"
bash scripts/fuzz.sh 2
