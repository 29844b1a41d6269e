#!/usr/bin/env bash
# Installs what is missing, builds Runnel, and runs a local cluster in the
# foreground: one coordinator and one broker, data under ./data. Ctrl-C stops
# both cleanly. Settings (all optional):
#   RUNNEL_COORDINATOR_LISTEN  default 127.0.0.1:9190
#   RUNNEL_BROKER_LISTEN       default 127.0.0.1:9092
#   RUNNEL_DATA_ROOT           default ./data
set -euo pipefail
cd "$(dirname "$0")"

./deploy/install-deps.sh
echo "building..." >&2
if ! bazel build //coordinator:runnel-coordinator //broker/server:runnel-broker \
    //client/cli:runnel //client/perf:runnel-perf >/tmp/runnel-build.log 2>&1; then
  grep -v '^$' /tmp/runnel-build.log | tail -40 >&2
  echo "run.sh: build failed" >&2
  exit 1
fi

# Stable paths for the binaries (bazel-bin moves with the configuration).
mkdir -p bin
for b in coordinator/runnel-coordinator broker/server/runnel-broker client/cli/runnel \
    client/perf/runnel-perf; do
  cp -f "bazel-bin/$b" bin/
done

COORD=${RUNNEL_COORDINATOR_LISTEN:-127.0.0.1:9190}
BROKER=${RUNNEL_BROKER_LISTEN:-127.0.0.1:9092}
DATA=${RUNNEL_DATA_ROOT:-./data}
mkdir -p "$DATA"

pids=()
stop() {
  trap - INT TERM
  echo >&2
  echo "stopping..." >&2
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait || true
  echo "stopped" >&2
  exit 0
}
trap stop INT TERM

./bin/runnel-coordinator --listen="$COORD" --data-dir="$DATA/coordinator" &
pids+=($!)
./bin/runnel-broker --id=0 --listen="$BROKER" --coordinator="$COORD" \
  --data-dir="$DATA/broker-0" &
pids+=($!)

# Wait until the broker is registered with the coordinator (it answers
# `cluster info` before that, but cannot host topics until it is alive).
for _ in $(seq 1 100); do
  if ./bin/runnel cluster info --bootstrap="$BROKER" 2>/dev/null | grep -q "State: alive"; then
    break
  fi
  if ! kill -0 "${pids[0]}" 2>/dev/null || ! kill -0 "${pids[1]}" 2>/dev/null; then
    echo "run.sh: a service failed to start (see its log above)" >&2
    stop
  fi
  sleep 0.1
done

cat <<MSG

Runnel is running (Ctrl-C stops it).
  coordinator  $COORD   data $DATA/coordinator
  broker 0     $BROKER   data $DATA/broker-0

In another shell, try:
  ./bin/runnel topic create demo --partitions=3
  printf 'hello\nworld\n' | ./bin/runnel produce demo
  ./bin/runnel consume demo --from-beginning --timeout-ms=2000
  ./bin/runnel consume demo --group=readers --from-beginning   # run it twice: they split the partitions
  ./bin/runnel group describe readers
  ./bin/runnel-perf produce --topic=demo --records=1000000 --record-size=100

MSG
wait
