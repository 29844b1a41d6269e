#!/usr/bin/env bash
# Bazel sh_test entry point for the Python tests: runs the given unittest
# modules with Debian's python3 (where python3-grpcio and python3-protobuf
# live; another python3 may come first on PATH), the runnel package from
# client/python and the gRPC modules the //client/python:protos genrule made.
set -euo pipefail
root="${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE}"
export RUNNEL_PY_GEN="$root/client/python/gen"
export PYTHONPATH="$root/client/python:$root/tests/python"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$root/tests/python/run_tests.py" "$@"
