#!/usr/bin/env bash
# Installs the Debian 12 packages Runnel needs to build, test and run.
# Idempotent: when everything is present it only checks, and returns quickly.
# Used by ./run.sh, ./test.sh and the container build.
set -euo pipefail

PACKAGES=(
  # Build: Bazel (offline, Debian's bootstrap build) and the C++ toolchain.
  bazel-bootstrap bazel-platforms g++ pkg-config
  # gRPC and Protobuf, with their code generators.
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # Abseil, RocksDB and the compression codecs the record batches use.
  libabsl-dev librocksdb-dev libzstd-dev liblz4-dev libsnappy-dev
  # The HTTP server behind --metrics-listen (Prometheus /metrics).
  libcpp-httplib-dev
  # Tests and benchmarks.
  libgtest-dev libgmock-dev libbenchmark-dev
  # The Python client (client/python), its tests and examples.
  python3 python3-grpcio python3-protobuf
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or install them)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
