#!/usr/bin/env bash
# What replication costs on this machine, in one run (docs/BENCHMARKS.md,
# section "Replication", shows a result):
#
#   (a) throughput: a fresh coordinator and three brokers on loopback; per
#       record size a one-partition RF=1 topic and a one-partition RF=3 topic
#       (min.insync.replicas=2), each filled with `runnel-perf produce
#       --acks=all`; prints both rates and RF3/RF1;
#   (b) failover: per coordinator session timeout, RUNS times: a fresh
#       one-partition RF=3 topic with its full ISR, then bench failover_probe
#       kill -9s the partition's leader and measures the time until a
#       surviving broker acknowledges an acks=all write; the killed broker is
#       restarted (same id, port, data) before the next run. Prints each run
#       and the mean.
#
# Before measuring it waits (up to 10 minutes) for the 1-minute load average
# to drop below MAX_LOAD, since other work on a 2-core machine skews both
# figures, and it prints the load. Everything it starts is stopped, and its
# temp dir removed, on exit.
# Settings (environment):
#   RECORDS=500000            records per throughput run
#   SIZES="100 1024"          record sizes in bytes
#   SESSION_TIMEOUTS="6000 2000"  coordinator --session-timeout-ms values for (b)
#   RUNS=3                    failover runs per session timeout
#   PHASES="throughput failover"  which parts to run
#   MAX_LOAD=1.0              wait until the 1-minute load is below this
#   SETTLE_SECONDS=5          pause before each throughput run
#   KEEP_LOGS=0               1: keep the temp dir (server logs) and print its path
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-500000}
SIZES=${SIZES:-"100 1024"}
SESSION_TIMEOUTS=${SESSION_TIMEOUTS:-"6000 2000"}
RUNS=${RUNS:-3}
PHASES=${PHASES:-"throughput failover"}
MAX_LOAD=${MAX_LOAD:-1.0}
SETTLE_SECONDS=${SETTLE_SECONDS:-5}
KEEP_LOGS=${KEEP_LOGS:-0}

NAME=failover
# shellcheck source=bench/lib.sh
source bench/lib.sh

WORK=$(mktemp -d /tmp/failover.XXXXXX)
PIDS=()
# Servers are started with `disown`, so bash does not print "Killed" for each
# kill -9 (the failover runs kill on purpose); wait_gone replaces `wait`.
wait_gone() {
  for pid in "$@"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  done
}
cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait_gone "${PIDS[@]}"
  if [ "$KEEP_LOGS" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_binaries //coordinator:runnel-coordinator //broker/server:runnel-broker //client/cli:runnel \
  //client/perf:runnel-perf //bench:failover_probe

load1() { cut -d' ' -f1 /proc/loadavg; }
wait_for_quiet_machine() {
  local waited=0
  while awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }'; do
    if [ "$waited" -ge 600 ]; then
      log "warning: load still $(load1) after 10 minutes; measuring anyway"
      return
    fi
    [ $((waited % 60)) = 0 ] && log "waiting for the 1-minute load ($(load1)) to drop below $MAX_LOAD"
    sleep 10
    waited=$((waited + 10))
  done
}

# --- a cluster: coordinator + brokers 1..3 ----------------------------------
declare -A BROKER_ADDR BROKER_PID
COORD_PID=
CLUSTER=0
start_broker() {  # id
  local id=$1
  "$BIN/runnel-broker" --id="$id" --listen="${BROKER_ADDR[$id]}" --coordinator="$COORD" \
    --data-dir="$DIR/broker-$id" >>"$DIR/broker-$id.log" 2>&1 &
  BROKER_PID[$id]=$!
  PIDS+=($!)
  disown "$!"
}
alive_brokers() {
  "$BIN/runnel" --bootstrap="${BROKER_ADDR[1]}" cluster info 2>/dev/null | grep -c 'State: alive' \
    || true
}
start_cluster() {  # session_timeout_ms
  CLUSTER=$((CLUSTER + 1))
  DIR=$WORK/cluster-$CLUSTER
  mkdir -p "$DIR"
  COORD="127.0.0.1:$(free_port)"
  "$BIN/runnel-coordinator" --listen="$COORD" --data-dir="$DIR/coordinator" \
    --session-timeout-ms="$1" >"$DIR/coordinator.log" 2>&1 &
  COORD_PID=$!
  PIDS+=($!)
  disown "$!"
  for id in 1 2 3; do
    BROKER_ADDR[$id]="127.0.0.1:$(free_port)"
    start_broker "$id"
  done
  wait_until "3 brokers alive" '[ "$(alive_brokers)" = 3 ]'
}
stop_cluster() {
  kill -KILL "$COORD_PID" "${BROKER_PID[@]}" 2>/dev/null || true
  wait_gone "$COORD_PID" "${BROKER_PID[@]}"
}
wait_until() {  # description, shell condition; up to 60 s
  for _ in $(seq 1 600); do
    if eval "$2"; then return; fi
    sleep 0.1
  done
  die "timed out waiting for $1 (KEEP_LOGS=1 keeps the logs)"
}
describe() { "$BIN/runnel" --bootstrap="${BROKER_ADDR[1]}" topic describe "$1" 2>/dev/null || true; }
# Partition 0's leader id, and whether its ISR holds all 3 replicas.
leader_of() { describe "$1" | awk '/Partition: 0/ { for (i = 1; i < NF; i++) if ($i == "Leader:") print $(i + 1) }'; }
full_isr() { describe "$1" | grep 'Partition: 0' | grep -Eq 'Isr: [0-9]+,[0-9]+,[0-9]+'; }
create_topic() {  # name, replication factor
  "$BIN/runnel" --bootstrap="${BROKER_ADDR[1]}" topic create "$1" --partitions=1 \
    --replication-factor="$2" --config=min.insync.replicas="$(( $2 > 1 ? 2 : 1 ))" >/dev/null
  if [ "$2" = 3 ]; then wait_until "full ISR of $1" "full_isr $1"; fi
}

wait_for_quiet_machine
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average at start: $LOAD_START"
REPORT=$WORK/report
{ cpu_info; echo "load average at start: $LOAD_START"; } >"$REPORT"

# --- (a) throughput ---------------------------------------------------------
if [[ " $PHASES " == *" throughput "* ]]; then
  start_cluster 6000
  {
    echo
    echo "throughput: $RECORDS records per run, runnel-perf produce --acks=all, 1 partition,"
    echo "3 brokers on loopback; RF 3 topics have min.insync.replicas=2"
    echo
    echo "| size | RF 1 records/s | RF 1 MB/s | RF 3 records/s | RF 3 MB/s | RF3/RF1 | RF 3 p99 ms |"
    echo "|------|----------------|-----------|----------------|-----------|---------|-------------|"
  } >>"$REPORT"
  for size in $SIZES; do
    declare -A RATE MB P99
    for rf in 1 3; do
      topic="tput-rf$rf-$size"
      create_topic "$topic" "$rf"
      sleep "$SETTLE_SECONDS"
      log "produce $RECORDS x $size bytes, RF $rf (leader broker $(leader_of "$topic"))"
      out=$("$BIN/runnel-perf" produce --bootstrap="${BROKER_ADDR[1]}" --topic="$topic" \
              --records="$RECORDS" --record-size="$size" --acks=all)
      log "$out"
      # "N records, R records/s, M MB/s, latency p50 X ms p99 Y ms ...".
      RATE[$rf]=$(field "$out" 3)
      MB[$rf]=$(field "$out" 5)
      P99[$rf]=$(field "$out" 12)
    done
    ratio=$(awk -v a="${RATE[3]}" -v b="${RATE[1]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    echo "| $size | ${RATE[1]} | ${MB[1]} | ${RATE[3]} | ${MB[3]} | $ratio | ${P99[3]} |" >>"$REPORT"
  done
  stop_cluster
fi

# --- (b) failover -----------------------------------------------------------
if [[ " $PHASES " == *" failover "* ]]; then
  {
    echo
    echo "failover: kill -9 of an idle RF 3 partition's leader -> first acks=all write"
    echo "acknowledged by a survivor (broker heartbeat 1000 ms, coordinator default tick)"
    echo
    echo "| session timeout ms | runs (ms) | mean ms |"
    echo "|--------------------|-----------|---------|"
  } >>"$REPORT"
  for session in $SESSION_TIMEOUTS; do
    start_cluster "$session"
    times=()
    for run in $(seq 1 "$RUNS"); do
      topic="failover-$session-$run"
      create_topic "$topic" 3
      sleep 2  # let the leader settle (preferred-leader pass)
      leader=$(leader_of "$topic")
      survivors=$(for id in 1 2 3; do [ "$id" = "$leader" ] || echo "${BROKER_ADDR[$id]}"; done |
                  paste -sd,)
      out=$("$BIN/failover_probe" --brokers="$survivors" --topic="$topic" \
              --kill-pid="${BROKER_PID[$leader]}")
      log "session ${session} ms, run $run: killed broker $leader; $out"
      times+=("$(sed -E 's/.*failover_ms=([0-9]+).*/\1/' <<<"$out")")
      wait_gone "${BROKER_PID[$leader]}"
      start_broker "$leader"
      wait_until "broker $leader back" '[ "$(alive_brokers)" = 3 ]'
      wait_until "full ISR of $topic" "full_isr $topic"
    done
    mean=$(printf '%s\n' "${times[@]}" | awk '{ s += $1 } END { printf "%.0f", s / NR }')
    echo "| $session | $(IFS=,; echo "${times[*]}" | sed 's/,/, /g') | $mean |" >>"$REPORT"
    stop_cluster
  done
fi

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$REPORT"
echo
cat "$REPORT"
