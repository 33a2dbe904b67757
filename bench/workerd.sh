#!/usr/bin/env bash
# The built Worker in workerd against an empty Worker (SPEC.md, quality bars).
#
#   bash bench/workerd.sh [--no-build]
#
# Builds the Worker (scripts/setup.sh, scripts/build.sh; --no-build uses build/ as it is, and the
# Rust baseline's build when it has one),
# serves a snapshot of it with `workerd serve` straight from bench/workerd/config.capnp (no
# wrangler proxy), next to an empty Worker, two JS Workers doing only a POST's I/O (both KV reads
# and a queue send each time; or, as kefu-edge, the KV reads kept 10 s and a queue send), a Rust
# Worker doing the latter through kefu-edge's glue (bench/workerd/floor, built here) and a local
# KV/queue sink, all on 127.0.0.1. Checks one answer of each kind
# (bench/workerd/requests.mjs), then loads each with wrk and prints requests/s and latency
# percentiles. Installs wrk (Debian, pinned) when missing. Exits non-zero when a check fails or an
# answer under load is not 2xx; socket errors (timeouts, closed connections) are only reported.
# The targets take turns in rounds; the table gives each target's median round and the goals'
# ratios (bench/workerd/summary.mjs), each taken within a round.
# Knobs (environment): BENCH_ROUNDS (5), BENCH_SECS (4, per target and round),
# BENCH_WARMUP_SECS (2), BENCH_THREADS (2),
# BENCH_CONNS (32), BENCH_PORT (18787: kefu; +1 empty Worker; +2 sink; +3, +4 and +5 the I/O-only
# Workers).
set -euo pipefail
cd "$(dirname "$0")/.."

WRK_DEB_VERSION=4.1.0-3+b2
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECS:-4}
WARMUP=${BENCH_WARMUP_SECS:-2}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-32}
PORT=${BENCH_PORT:-18787}
KEFU_PORT=$PORT EMPTY_PORT=$((PORT + 1)) SINK_PORT=$((PORT + 2)) EMPTY_IO_PORT=$((PORT + 3))
SAME_IO_PORT=$((PORT + 4)) FLOOR_PORT=$((PORT + 5))
WORK=bench/.work
WORKERD=node_modules/.bin/workerd

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) echo "usage: bash bench/workerd.sh [--no-build]" >&2; exit 2 ;;
  esac
done

log() { echo "[bench/workerd] $*" >&2; }

# --- tools -------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk $WRK_DEB_VERSION (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "wrk=$WRK_DEB_VERSION" >/dev/null 2>&1 || {
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends "wrk=$WRK_DEB_VERSION" >/dev/null
  }
fi
rm -rf "$WORK" && mkdir -p "$WORK"
if [ "$build" = 1 ]; then
  bash scripts/setup.sh >&2
  log "building the Worker (scripts/build.sh)"
  bash scripts/build.sh >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
elif [ ! -x "$WORKERD" ]; then
  bash scripts/setup.sh >&2
fi
for f in build/index.js build/index_bg.wasm; do
  [ -s "$f" ] || { log "missing $f: run without --no-build"; exit 1; }
done
FLOOR=bench/workerd/floor
if [ "$build" = 1 ] || [ ! -s "$FLOOR/build/index_bg.wasm" ]; then
  log "building the Rust I/O-only Worker ($FLOOR)"
  CARGO_TARGET_DIR=target/bench-floor bash scripts/build-worker.sh "$FLOOR" \
    >"$WORK/floor-build.log" 2>&1 || { cat "$WORK/floor-build.log" >&2; exit 1; }
fi

# --- config: a snapshot of the build next to the config, so the served Worker is one build -----
cp build/index.js build/index_bg.wasm bench/workerd/empty.mjs bench/workerd/empty-io.mjs \
  bench/workerd/sink.mjs "$WORK/"
mkdir "$WORK/floor" && cp "$FLOOR/build/index.js" "$FLOOR/build/index_bg.wasm" "$WORK/floor/"
compat_date=$(sed -n 's/^compatibility_date *= *"\(.*\)".*/\1/p' wrangler.toml)
sed -e "s/@COMPAT_DATE@/$compat_date/g" -e "s/@KEFU_PORT@/$KEFU_PORT/" \
  -e "s/@EMPTY_PORT@/$EMPTY_PORT/" -e "s/@SINK_PORT@/$SINK_PORT/" \
  -e "s/@EMPTY_IO_PORT@/$EMPTY_IO_PORT/" -e "s/@SAME_IO_PORT@/$SAME_IO_PORT/" \
  -e "s/@FLOOR_PORT@/$FLOOR_PORT/" \
  bench/workerd/config.capnp >"$WORK/config.capnp"

# --- serve ---------------------------------------------------------------------------------------
"$WORKERD" serve "$WORK/config.capnp" config >"$WORK/workerd.log" 2>&1 &
workerd_pid=$!
stop() {
  if kill -0 "$workerd_pid" 2>/dev/null; then
    kill "$workerd_pid" 2>/dev/null || true
    wait "$workerd_pid" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'stop; exit 130' INT TERM

up=0
for _ in $(seq 1 100); do
  if ! kill -0 "$workerd_pid" 2>/dev/null; then break; fi
  if curl -fsS -o /dev/null "http://127.0.0.1:$EMPTY_PORT/" 2>/dev/null &&
    curl -fsS -o /dev/null "http://127.0.0.1:$KEFU_PORT/healthz" 2>/dev/null; then
    up=1
    break
  fi
  sleep 0.1
done
if [ "$up" != 1 ]; then
  log "workerd did not come up; its log:"
  cat "$WORK/workerd.log" >&2
  exit 1
fi

# --- check answers before loading ---------------------------------------------------------------
node bench/workerd/requests.mjs "http://127.0.0.1:$KEFU_PORT" "http://127.0.0.1:$EMPTY_PORT" \
  "http://127.0.0.1:$EMPTY_IO_PORT" "http://127.0.0.1:$SAME_IO_PORT" \
  "http://127.0.0.1:$FLOOR_PORT" "http://127.0.0.1:$SINK_PORT" "$WORK" >&2 || {
  log "an answer was wrong; workerd log:"
  tail -n 40 "$WORK/workerd.log" >&2
  exit 1
}

# --- load ----------------------------------------------------------------------------------------
# wrk --latency output -> "req/s p50 p90 p99 max non2xx sockerr" (latencies in ms).
summarize() {
  awk '
    function ms(v) {
      if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
      if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
      if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
      return v
    }
    $1 == "Latency" && NF >= 5 { max = ms($4) }
    $1 == "50%" { p50 = ms($2) }
    $1 == "90%" { p90 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { n = $i; sub(/,/, "", n); sock += n } }
    $1 == "Requests/sec:" { rps = $2 }
    END { printf "%.0f %.3f %.3f %.3f %.3f %d %d\n", rps, p50, p90, p99, max, bad, sock }'
}

echo "workerd $("$WORKERD" --version 2>/dev/null | awk '{print $2}'), compatibility date $compat_date;" \
  "wrk $WRK_DEB_VERSION -t$THREADS -c$CONNS, $ROUNDS rounds of ${SECS}s per target (after ${WARMUP}s warm-up);" \
  "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
# workerd's CPU time (user + system, all its threads) in clock ticks: read around each timed run,
# it gives the CPU per request of the target, the sink's work for its I/O included. Less noisy
# than requests/s on a shared machine: time spent waiting for a CPU is not counted.
ticks() { awk '{print $14 + $15}' "/proc/$workerd_pid/stat"; }
TICKS_PER_SEC=$(getconf CLK_TCK)
mapfile -t targets <"$WORK/targets.tsv"
wrk_args() { # lua -> the wrk arguments of a target
  args=(-t"$THREADS" -c"$CONNS")
  if [ "$1" != "-" ]; then args+=(-s "$1"); fi
}
if [ "$WARMUP" != 0 ]; then
  for target in "${targets[@]}"; do
    IFS=$'\t' read -r _ _ url lua <<<"$target"
    wrk_args "$lua"
    wrk "${args[@]}" -d"${WARMUP}s" "$url" >/dev/null
  done
fi
# The targets take turns, round after round: a machine that slows down or speeds up during the
# run weighs on every target of a round alike, and each ratio is taken within its round.
status=0
: >"$WORK/rounds.tsv"
for round in $(seq 1 "$ROUNDS"); do
  for target in "${targets[@]}"; do
    IFS=$'\t' read -r name _ url lua <<<"$target"
    wrk_args "$lua"
    before=$(ticks)
    wrk "${args[@]}" -d"${SECS}s" --latency "$url" >"$WORK/wrk.out" 2>&1
    after=$(ticks)
    read -r rps p50 p90 p99 max bad sock < <(summarize <"$WORK/wrk.out")
    requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
    cpu=$(awk -v t="$((after - before))" -v hz="$TICKS_PER_SEC" -v n="$requests" \
      'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
    printf '%s\t%s\t%s %s %s %s %s %s %s %s\n' "$round" "$name" "$rps" "$p50" "$p90" "$p99" \
      "$max" "$bad" "$sock" "$cpu" >>"$WORK/rounds.tsv"
    if [ "$bad" != 0 ]; then
      # A wrong answer under load (every answer was checked once before): the run is not valid.
      status=1
      log "round $round, $name: $bad answers were not 2xx; wrk said:"
      cat "$WORK/wrk.out" >&2
    elif [ "$sock" != 0 ]; then
      # A connection closed or timed out under load: reported, the numbers stand.
      log "round $round, $name: $(grep 'Socket errors' "$WORK/wrk.out" | sed 's/^ *//')"
    fi
  done
done
node bench/workerd/summary.mjs "$WORK/rounds.tsv"

if grep -qiE 'uncaught|panicked|RuntimeError|unreachable' "$WORK/workerd.log"; then
  log "workerd logged errors:"
  grep -iE 'uncaught|panicked|RuntimeError|unreachable' "$WORK/workerd.log" | head -n 20 >&2
  status=1
fi
exit "$status"
