#!/usr/bin/env bash
# Installs what is missing, builds everything, runs every test (unit tests and
# the tests in tests/ that start real processes), and ends with the line
# "N passed, N failed" counting test cases.
set -uo pipefail
cd "$(dirname "$0")"

./deploy/install-deps.sh || exit 1

# Bazel's output for a whole run is long; keep it in a file and show the tail.
log=$(mktemp)
bazel build //... >"$log" 2>&1
build_rc=$?
if [ $build_rc -ne 0 ]; then
  grep -v '^$' "$log" | tail -60
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

bazel test //... >"$log" 2>&1
test_rc=$?
grep -E "PASSED|FAILED|TIMEOUT|NO STATUS|FLAKY|Executed" "$log"
if [ $test_rc -ne 0 ]; then
  echo "---- failure output ----"
  grep -v '^$' "$log" | grep -v -E "^(INFO|Loading|Analyzing)" | tail -80
fi

# Count test cases from the JUnit XML Bazel writes for every test target run
# (or the test writes itself: a skipped case counts as skipped, not passed).
passed=0
failed=0
skipped=0
while IFS= read -r target; do
  xml="bazel-testlogs/${target#//}"
  xml="${xml/://}/test.xml"
  if [ -f "$xml" ]; then
    t=$(grep -o '<testsuites[^>]*' "$xml" | grep -o ' tests="[0-9]*"' | grep -o '[0-9]*' | head -1)
    f=$(grep -o '<testsuites[^>]*' "$xml" | grep -o ' failures="[0-9]*"' | grep -o '[0-9]*' | head -1)
    e=$(grep -o '<testsuites[^>]*' "$xml" | grep -o ' errors="[0-9]*"' | grep -o '[0-9]*' | head -1)
    s=$(grep -o '<testsuites[^>]*' "$xml" | grep -o ' skipped="[0-9]*"' | grep -o '[0-9]*' | head -1)
    t=${t:-0}; f=${f:-0}; e=${e:-0}; s=${s:-0}
    if grep -q -E "^$target +(FAILED|TIMEOUT|NO STATUS)" "$log" && [ $((f + e)) -eq 0 ]; then
      # The target failed without a failing case in its XML (crash, timeout).
      f=1
    fi
    passed=$((passed + t - f - e - s))
    failed=$((failed + f + e))
    skipped=$((skipped + s))
  else
    failed=$((failed + 1))
  fi
done < <(bazel query 'tests(//...)' 2>/dev/null)
rm -f "$log"

if [ $skipped -ne 0 ]; then
  echo "$skipped skipped (the reasons are in their bazel-testlogs/<target>/test.log)"
fi
echo "$passed passed, $failed failed"
if [ $test_rc -ne 0 ] || [ $failed -ne 0 ]; then
  exit 1
fi
