#!/usr/bin/env bash
# Every flag that a Runnel binary's --help lists must appear in
# docs/configuration.md, so the reference cannot silently fall behind the code.
set -uo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
doc="$root/docs/configuration.md"
missing=0
checked=0
for bin in coordinator/runnel-coordinator broker/server/runnel-broker; do
  for flag in $("$root/$bin" --help | grep -oE '^  --[a-z0-9-]+' | sed 's/^  //'); do
    checked=$((checked + 1))
    if ! grep -q -- "\`$flag" "$doc"; then
      echo "$(basename "$bin") $flag is not documented in docs/configuration.md"
      missing=$((missing + 1))
    fi
  done
done
echo "checked $checked flags, $missing undocumented"
[ "$checked" -gt 10 ] && [ "$missing" -eq 0 ]
