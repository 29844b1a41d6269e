# Shared by the benchmark scripts in bench/ (sourced, not run). Set NAME (the
# prefix of log lines) and WORK (a temp dir) before calling anything here.

log() { echo "$NAME: $*" >&2; }
die() { log "$*"; exit 1; }

# A loopback port nobody listens on.
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  die "no free port found"
}

cpu_info() {
  echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))," \
       "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
       "kernel $(uname -r)"
}

# Field $2 (1-based, whitespace-separated) of the string $1.
field() { awk -v f="$2" '{ print $f }' <<<"$1"; }

# Builds the given Bazel targets and copies their binaries into $WORK/bin
# (exported as BIN), so that other builds in the workspace cannot swap them
# mid-run. Uses `bazel info bazel-bin`, not the bazel-bin symlink, which
# follows the last build's configuration (e.g. someone's `bazel run -c opt`).
build_binaries() {
  log "building (bazel)"
  if ! bazel build "$@" >"$WORK/build.log" 2>&1; then
    tail -30 "$WORK/build.log" >&2
    die "build failed"
  fi
  local bazel_bin t
  bazel_bin=$(bazel info bazel-bin 2>/dev/null)
  BIN=$WORK/bin
  mkdir -p "$BIN"
  for t in "$@"; do
    t=${t#//}
    cp "$bazel_bin/${t/://}" "$BIN/"
  done
}
