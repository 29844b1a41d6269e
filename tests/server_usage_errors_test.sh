#!/usr/bin/env bash
# Bad usage of the server binaries (a malformed address, an unknown log
# level, an unknown flag) must end at startup with exit status 2 and one line
# on stderr naming the flag, before anything is created on disk.
set -uo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/usage.XXXXXX")
failures=0
cases=0

expect_usage_error() {  # binary, expected text, args...
  local bin=$1 want=$2
  shift 2
  cases=$((cases + 1))
  local err rc lines
  err=$(cd "$work" && "$root/$bin" --data-dir="$work/data" "$@" 2>&1 >/dev/null)
  rc=$?
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [ "$rc" -ne 2 ] || [ "$lines" -ne 1 ] || [[ "$err" != *"$want"* ]]; then
    echo "FAIL: $(basename "$bin") $*: exit $rc, $lines line(s): $err (wanted exit 2, one line with '$want')"
    failures=$((failures + 1))
  fi
  if [ -e "$work/data" ]; then
    echo "FAIL: $(basename "$bin") $*: created $work/data"
    failures=$((failures + 1))
    rm -rf "$work/data"
  fi
}

broker=broker/server/runnel-broker
coordinator=coordinator/runnel-coordinator
expect_usage_error $broker "--listen 'localhost' is not host:port" --listen=localhost
expect_usage_error $broker "--listen '127.0.0.1:99999'" --listen=127.0.0.1:99999
expect_usage_error $broker "--coordinator '127.0.0.1:0'" --listen=127.0.0.1:0 --coordinator=127.0.0.1:0
expect_usage_error $broker "--advertised-address 'broker1'" --advertised-address=broker1
expect_usage_error $broker "--metrics-listen '::1:9100'" --metrics-listen=::1:9100
expect_usage_error $broker "log level" --log-level=loud
expect_usage_error $broker "--wal-bytes must be at least" --wal-bytes=4096
expect_usage_error $broker "--no-such-flag" --no-such-flag=1
expect_usage_error $coordinator "--listen ':9190'" --listen=:9190
expect_usage_error $coordinator "--metrics-listen 'x:y'" --metrics-listen=x:y
expect_usage_error $coordinator "--no-such-flag" --no-such-flag=1

echo "$cases cases, $failures failures"
[ "$failures" -eq 0 ]
