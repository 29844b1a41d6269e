#!/usr/bin/env bash
# Runnel next to Redis Streams on this machine, in one run (docs/BENCHMARKS.md
# shows a result and how to read it):
#
#   1. installs redis-server and redis-tools with apt-get if missing;
#   2. Redis: redis-server on a loopback port in a temp dir, persistent like a
#      log (appendonly yes, appendfsync everysec); XADD throughput with
#      `redis-benchmark -P 64` for 100-byte and 1 KiB values;
#   3. Runnel: builds and starts a fresh coordinator and one broker (RF 1,
#      acks=all, i.e. acknowledged once in RocksDB's write-ahead log) in a temp
#      dir; per size a one-partition topic (like one Redis stream), then
#      `runnel-perf produce` with the same record count as Redis, `runnel-perf
#      consume` of those records, and a latency run at half the measured peak
#      rate (--throughput) for p99;
#   4. prints a table: records/s of both and their ratio per size, consume
#      rate, p99 latency at half rate, and peak RSS (VmHWM) of both servers.
#
# Everything it starts is stopped, and its temp dirs removed, on exit.
# Settings (environment):
#   RECORDS=1000000   records (XADD calls) per size and run
#   SIZES="100 1024"  record sizes in bytes
#   PARTITIONS=1      partitions of the Runnel topics
#   PERF_FLAGS=""     extra runnel-perf produce flags, e.g. "--linger-ms=0"
#   KEEP_LOGS=0       1: keep the temp dir (server logs, the latency runs'
#                     progress every 100 ms) and print its path
#   PREBUILT_BIN=""   a directory holding the four binaries: skips the build
#                     (to measure exact binaries while the tree changes)
#   SETTLE_SECONDS=10 pause before each consume and latency run, so that the
#                     broker's flushes and compactions of the full-speed run
#                     before are done and each run measures its own load
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-1000000}
SIZES=${SIZES:-"100 1024"}
PARTITIONS=${PARTITIONS:-1}
PERF_FLAGS=${PERF_FLAGS:-}
KEEP_LOGS=${KEEP_LOGS:-0}
SETTLE_SECONDS=${SETTLE_SECONDS:-10}

NAME=compare_redis
# shellcheck source=bench/lib.sh
source bench/lib.sh

# --- prerequisites ----------------------------------------------------------
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  log "installing redis-server and redis-tools"
  [ "$(id -u)" = 0 ] || die "redis-server is missing and installing it needs root"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi

WORK=$(mktemp -d /tmp/compare_redis.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$KEEP_LOGS" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${PREBUILT_BIN:-}" ]; then
  BIN=$PREBUILT_BIN
else
  build_binaries //coordinator:runnel-coordinator //broker/server:runnel-broker //client/cli:runnel \
    //client/perf:runnel-perf
fi

peak_rss_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# Other work on this small machine skews everything: say so in the output.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_BEFORE%% *}" 'BEGIN { exit !(l > 0.5) }'; then
  log "warning: load average is $LOAD_BEFORE before starting; results will be noisy"
fi

# --- Redis ------------------------------------------------------------------
REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" \
  --appendonly yes --appendfsync everysec --save '' --daemonize no \
  --logfile "$WORK/redis/redis.log" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 1 100); do
  [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
  sleep 0.1
done
[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] || die "redis-server did not start"

declare -A REDIS_RATE
for size in $SIZES; do
  value=$(head -c "$size" /dev/zero | tr '\0' x)
  redis-cli -p "$REDIS_PORT" del s >/dev/null
  log "redis: $RECORDS x XADD of $size bytes (-P 64)"
  # --csv: a header line, then "test","rps",...
  rate=$(redis-benchmark -p "$REDIS_PORT" -n "$RECORDS" -P 64 --csv XADD s '*' f "$value" \
           2>/dev/null | awk -F'"' 'NR == 2 { printf "%.0f", $4 }')
  [ -n "$rate" ] || die "redis-benchmark printed no result"
  REDIS_RATE[$size]=$rate
  log "redis: $rate records/s"
done
REDIS_RSS=$(peak_rss_mib "$REDIS_PID")
kill -TERM "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true

# --- Runnel -----------------------------------------------------------------
COORD="127.0.0.1:$(free_port)"
BROKER="127.0.0.1:$(free_port)"
"$BIN/runnel-coordinator" --listen="$COORD" --data-dir="$WORK/coordinator" \
  >"$WORK/coordinator.log" 2>&1 &
PIDS+=($!)
"$BIN/runnel-broker" --id=0 --listen="$BROKER" --coordinator="$COORD" \
  --data-dir="$WORK/broker-0" >"$WORK/broker.log" 2>&1 &
BROKER_PID=$!
PIDS+=("$BROKER_PID")
# Ready once the broker answers and has registered with the coordinator.
ready=0
for _ in $(seq 1 100); do
  if "$BIN/runnel" --bootstrap="$BROKER" cluster info 2>/dev/null | grep -q 'State: alive'; then
    ready=1
    break
  fi
  kill -0 "$BROKER_PID" 2>/dev/null || die "runnel-broker exited: $(tail -3 "$WORK/broker.log")"
  sleep 0.1
done
[ "$ready" = 1 ] || die "runnel-broker did not become ready (see KEEP_LOGS=1)"

# The value of field $2 (1-based, space-separated) of runnel-perf's summary.

declare -A RUNNEL_RATE CONSUME_RATE P99_HALF HALF_RATE
for size in $SIZES; do
  topic="perf-$size"
  "$BIN/runnel" --bootstrap="$BROKER" topic create "$topic" --partitions="$PARTITIONS" \
    --replication-factor=1 >/dev/null
  log "runnel: produce $RECORDS x $size bytes"
  # shellcheck disable=SC2086
  out=$("$BIN/runnel-perf" produce --bootstrap="$BROKER" --topic="$topic" --records="$RECORDS" \
          --record-size="$size" --acks=all $PERF_FLAGS)
  log "runnel: $out"
  RUNNEL_RATE[$size]=$(field "$out" 3)

  sleep "$SETTLE_SECONDS"
  log "runnel: consume $RECORDS x $size bytes"
  out=$("$BIN/runnel-perf" consume --bootstrap="$BROKER" --topic="$topic" --records="$RECORDS")
  log "runnel: $out"
  CONSUME_RATE[$size]=$(field "$out" 3)

  HALF_RATE[$size]=$(( ${RUNNEL_RATE[$size]} / 2 ))
  sleep "$SETTLE_SECONDS"
  log "runnel: latency run at ${HALF_RATE[$size]} records/s"
  "$BIN/runnel" --bootstrap="$BROKER" topic create "$topic-half" --partitions="$PARTITIONS" \
    --replication-factor=1 >/dev/null
  # shellcheck disable=SC2086
  # The progress lines (every 100 ms: rate, mean and max latency) go to
  # latency-SIZE.log in the temp dir, kept with KEEP_LOGS=1, to see when a
  # tail happened.
  out=$("$BIN/runnel-perf" produce --bootstrap="$BROKER" --topic="$topic-half" \
          --records="$RECORDS" --record-size="$size" --acks=all \
          --throughput="${HALF_RATE[$size]}" --report-interval-ms=100 $PERF_FLAGS \
          2>"$WORK/latency-$size.log")
  log "runnel: $out"
  # "N records, R records/s, M MB/s, latency p50 X ms p99 Y ms ...": p99 is field 12.
  P99_HALF[$size]=$(field "$out" 12)
done
BROKER_RSS=$(peak_rss_mib "$BROKER_PID")

# --- report -----------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
cpu_info
echo "records per run: $RECORDS; Runnel topics: $PARTITIONS partition(s), RF 1, acks=all;" \
     "Redis: appendonly yes, appendfsync everysec, redis-benchmark -P 64"
echo
printf '| %-6s | %-13s | %-14s | %-6s | %-16s | %-7s | %-22s |\n' \
  size "Redis XADD/s" "Runnel prod/s" ratio "Runnel consume/s" "cons/prod" "p99 at half rate"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' -------- --------------- ---------------- -------- \
  ------------------ --------- ------------------------
for size in $SIZES; do
  printf '| %-6s | %13s | %14s | %5sx | %16s | %6sx | %8s ms at %7s/s |\n' \
    "$size B" "${REDIS_RATE[$size]}" "${RUNNEL_RATE[$size]}" \
    "$(ratio "${RUNNEL_RATE[$size]}" "${REDIS_RATE[$size]}")" \
    "${CONSUME_RATE[$size]}" \
    "$(ratio "${CONSUME_RATE[$size]}" "${RUNNEL_RATE[$size]}")" \
    "${P99_HALF[$size]}" "${HALF_RATE[$size]}"
done
echo
echo "peak RSS: runnel-broker ${BROKER_RSS} MiB, redis-server ${REDIS_RSS} MiB"
echo "load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
