#!/usr/bin/env bash
# Generates the Python modules for Runnel's gRPC API (proto/runnel/v1) with
# Debian's protoc and grpc_python_plugin, so generated code is never
# committed. The runnel package calls this on first import when no generated
# tree exists yet; the Bazel genrule in this folder calls it for tests.
#
# Usage: client/python/gen_protos.sh OUT_DIR [PROTO_ROOT]
#   OUT_DIR     gets proto/runnel/v1/*_pb2.py and *_pb2_grpc.py
#   PROTO_ROOT  the directory the proto imports are relative to (the
#               repository root; default: two levels above this script)
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: gen_protos.sh OUT_DIR [PROTO_ROOT]" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
root=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
plugin=$(command -v grpc_python_plugin || true)
if ! command -v protoc >/dev/null || [ -z "$plugin" ]; then
  echo "gen_protos.sh: needs protoc and grpc_python_plugin" \
    "(apt-get install protobuf-compiler protobuf-compiler-grpc)" >&2
  exit 1
fi
# Import paths in the protos are relative to the repository root
# ("proto/runnel/v1/types.proto"), so protoc runs from there.
cd "$root"
protoc --proto_path=. --python_out="$out" --grpc_out="$out" \
  --plugin=protoc-gen-grpc="$plugin" proto/runnel/v1/*.proto
