#!/usr/bin/env bash
# The core on the host against wechatpy (SPEC.md, quality bars).
#
#   bash bench/wechatpy.sh
#
# Installs wechatpy and its crypto backend (bench/requirements.txt, every version pinned) into
# bench/.venv when missing or out of date, times wechatpy doing the work of benches/callback.rs
# (bench/wechatpy_bench.py, timeit), runs the benchmark of `cargo bench --bench callback`, in
# turn over a few rounds, and prints µs per callback side by side with the speed-up of each round
# (wechatpy's median over the core's median) and their median. The core's benchmark is built
# twice: for this machine's CPU (`-C target-cpu=native`, as a native service is built for its
# server; in target/native) and portable (any x86-64, the CPU's features found at run time), and
# both are timed in every round.
# Knobs (environment): BENCH_ROUNDS (5), BENCH_PY_REPEATS (7), BENCH_CRITERION_SECS (3,
# criterion's measurement time per mode, build and round).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

VENV=bench/.venv
ROUNDS=${BENCH_ROUNDS:-5}
CRITERION_SECS=${BENCH_CRITERION_SECS:-3}
log() { echo "[bench/wechatpy] $*" >&2; }

# --- wechatpy, pinned ----------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ] || ! cmp -s bench/requirements.txt "$VENV/requirements.installed"; then
  log "installing bench/requirements.txt into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r bench/requirements.txt >&2
  cp bench/requirements.txt "$VENV/requirements.installed"
fi

# --- rounds: wechatpy, then the core (criterion) built for this CPU and portable, in turn -------
# Each round times every side and takes the speed-ups within the round; the result is the median
# round. A machine disturbed during one side's turn spoils that round only.
build_log=$(mktemp)
rows=$(mktemp)
estimates=$(mktemp -d)
trap 'rm -rf "$build_log" "$rows" "$estimates"' EXIT
build_bench() { # what, then cargo's environment (NAME=value ...) -> the benchmark executable
  local what=$1 bin
  shift
  log "building the core's benchmark $what (cargo bench --bench callback --no-run)"
  env "$@" cargo bench --bench callback --no-run >"$build_log" 2>&1 || { cat "$build_log" >&2; exit 1; }
  bin=$(sed -n 's/.*Executable .*(\(.*\))$/\1/p' "$build_log" | tail -n 1)
  [ -x "$bin" ] || { log "no benchmark executable in:"; cat "$build_log" >&2; exit 1; }
  echo "$bin"
}
run_bench() { # executable, build's name -> criterion's estimates under $estimates/<name>
  CRITERION_HOME="$estimates/$2" "$1" --bench --warm-up-time 1 --measurement-time "$CRITERION_SECS" \
    >"$estimates/$2.log" 2>&1 || { cat "$estimates/$2.log" >&2; exit 1; }
}
# The median of criterion's samples (each the mean time of its iterations) and its 95% interval,
# in µs: the statistic wechatpy's side reports. criterion's printed estimate is the slope of a
# regression over the samples, which a few samples slowed by another process pull up.
criterion() { # mode, build's name -> "median low high" in µs
  "$VENV/bin/python" - "$estimates/$2/oa_post/$1/new/estimates.json" <<'PY'
import json, sys
median = json.load(open(sys.argv[1]))["median"]
ci = median["confidence_interval"]
us = [median["point_estimate"], ci["lower_bound"], ci["upper_bound"]]
print(" ".join(f"{ns / 1000:.2f}" for ns in us))
PY
}
native_bin=$(build_bench "for this CPU (target/native)" RUSTFLAGS="-C target-cpu=native" \
  CARGO_TARGET_DIR=target/native)
portable_bin=$(build_bench portable)

for round in $(seq 1 "$ROUNDS"); do
  py_out=$("$VENV/bin/python" bench/wechatpy_bench.py "${BENCH_PY_REPEATS:-7}")
  log "round $round: wechatpy done, running the core's benchmark (for this CPU, then portable)"
  run_bench "$native_bin" native
  run_bench "$portable_bin" portable
  for mode in plain safe; do
    read -r _ _ best median _ < <(echo "$py_out" | grep "^wechatpy $mode ")
    read -r native native_low native_high < <(criterion "$mode" native)
    read -r portable portable_low portable_high < <(criterion "$mode" portable)
    if [ -z "${native:-}" ] || [ -z "${portable:-}" ]; then
      log "no criterion estimates for oa_post/$mode"
      exit 1
    fi
    echo "$mode $round $best $median $native $native_low $native_high $portable $portable_low $portable_high" >>"$rows"
  done
done

echo "$py_out" | grep '^#'
echo "# kefu-edge core: the benchmark of cargo bench --bench callback (criterion: median of the" \
  "samples, [95% CI], 1 s warm-up, ${CRITERION_SECS} s measurement), built for this CPU (-C target-cpu=native:" \
  "$(grep -m1 '^model name' /proc/cpuinfo | sed 's/.*: //')) and portable; $(rustc --version)"
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ);" \
  "$ROUNDS rounds, each wechatpy, then the core for this CPU, then portable"
printf '%-6s %5s %18s %18s %26s %9s %26s %9s\n' "mode" "round" "wechatpy best µs" \
  "wechatpy median µs" "this CPU: median µs [CI]" "speed-up" "portable: median µs [CI]" "speed-up"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
sort -k1,1 -k2,2n "$rows" | while read -r mode round best median native nlow nhigh portable plow phigh; do
  printf '%-6s %5s %18s %18s %26s %9s %26s %9s\n' "$mode" "$round" "$best" "$median" \
    "$native [$nlow, $nhigh]" "$(ratio "$median" "$native")" \
    "$portable [$plow, $phigh]" "$(ratio "$median" "$portable")"
done
median() { # one number per line -> their median
  sort -g | awk '{ r[NR] = $1 } END { print NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2 }'
}
for mode in plain safe; do
  native=$(awk -v m="$mode" '$1 == m { print $4 / $5 }' "$rows" | median)
  portable=$(awk -v m="$mode" '$1 == m { print $4 / $8 }' "$rows" | median)
  printf '%-6s speed-up, median of the rounds: %.1fx built for this CPU, %.1fx portable\n' \
    "$mode" "$native" "$portable"
done
