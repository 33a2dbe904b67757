#!/usr/bin/env bash
# The core on the host against wechatpy (SPEC.md, quality bars).
#
#   bash bench/wechatpy.sh
#
# Installs wechatpy and its crypto backend (bench/requirements.txt, every version pinned) into
# bench/.venv when missing or out of date, times wechatpy doing the work of benches/callback.rs
# (bench/wechatpy_bench.py, timeit), runs `cargo bench --bench callback` and prints µs per callback
# side by side. Knob (environment): BENCH_PY_REPEATS (7).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

VENV=bench/.venv
log() { echo "[bench/wechatpy] $*" >&2; }

# --- wechatpy, pinned ----------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ] || ! cmp -s bench/requirements.txt "$VENV/requirements.installed"; then
  log "installing bench/requirements.txt into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r bench/requirements.txt >&2
  cp bench/requirements.txt "$VENV/requirements.installed"
fi

# --- wechatpy ------------------------------------------------------------------------------------
py_out=$("$VENV/bin/python" bench/wechatpy_bench.py "${BENCH_PY_REPEATS:-7}")

# --- the core (criterion) ------------------------------------------------------------------------
log "running cargo bench --bench callback"
cargo_log=$(mktemp)
trap 'rm -f "$cargo_log"' EXIT
cargo bench --bench callback >"$cargo_log" 2>&1 || { cat "$cargo_log" >&2; exit 1; }
# criterion: "oa_post/plain  time:   [low µs mean µs high µs]" (the name may sit on its own line).
criterion() { # mode -> "mean low high" in µs
  awk -v want="oa_post/$1" '
    function us(v, unit) {
      if (unit == "ns") return v / 1000
      if (unit == "ms") return v * 1000
      return v
    }
    $1 == want { hit = 1 }
    hit && /time:/ {
      s = $0; sub(/.*\[/, "", s); sub(/\].*/, "", s); split(s, f, " ")
      printf "%.2f %.2f %.2f\n", us(f[3], f[4]), us(f[1], f[2]), us(f[5], f[6]); exit
    }' "$cargo_log"
}

echo "$py_out" | grep '^#'
echo "# kefu-edge core: cargo bench --bench callback (criterion mean, [95% CI]); $(rustc --version)"
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
printf '%-6s %18s %18s %26s %9s\n' "mode" "wechatpy best µs" "wechatpy median µs" "kefu-edge mean µs [CI]" "speed-up"
for mode in plain safe; do
  read -r _ _ best median _ < <(echo "$py_out" | grep "^wechatpy $mode ")
  read -r mean low high < <(criterion "$mode")
  if [ -z "${mean:-}" ]; then
    log "no criterion result for oa_post/$mode in:"
    cat "$cargo_log" >&2
    exit 1
  fi
  speedup=$(awk -v a="$median" -v b="$mean" 'BEGIN { printf "%.1fx", a / b }')
  printf '%-6s %18s %18s %26s %9s\n' "$mode" "$best" "$median" "$mean [$low, $high]" "$speedup"
done
