#!/usr/bin/env bash
# What the Worker's wasm weighs, and where: the shipped build/index_bg.wasm raw and gzipped, and
# the code of the wasm32 library (before wasm-bindgen and wasm-opt, which keep its names) by
# crate, from twiggy. `--no-build` measures build/ and the last wasm32 build as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
TWIGGY_VERSION=0.7.0
if ! twiggy --version 2>/dev/null | grep -qF "$TWIGGY_VERSION"; then
  cargo install twiggy --version "$TWIGGY_VERSION" --locked >&2
fi
if [ "${1:-}" != --no-build ]; then
  bash scripts/build.sh >&2
  cargo build --release --target wasm32-unknown-unknown --lib >&2
fi
shipped=build/index_bg.wasm
printf '%-34s %10s %10s\n' file bytes gzip-9
printf '%-34s %10s %10s\n' "$shipped" "$(wc -c <"$shipped")" "$(gzip -9 -c "$shipped" | wc -c)"
lib=target/wasm32-unknown-unknown/release/kefu_edge.wasm
echo
echo "# $lib by crate (twiggy shallow bytes; names and custom sections are stripped from what ships)"
twiggy top -n 1000000 --format csv "$lib" | python3 -c '
import csv, re, sys, collections
sizes = collections.Counter()
for row in csv.DictReader(sys.stdin):
    name, size = row["Name"], int(row["ShallowSize"])
    if name.startswith(("\"function names\"", "custom section", "\"")):
        key = "(names and custom sections)"
    elif name.startswith("data["):
        key = "(data segments)"
    else:
        m = re.match(r"^<*([a-z_][a-z0-9_]*)(\[[0-9a-f]+\])?::", name)
        key = m.group(1) if m else "(other: glue, closures, generics)"
    sizes[key] += size
for key, size in sizes.most_common(20):
    print(f"{size:10d}  {key}")
'
