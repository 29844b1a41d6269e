#!/usr/bin/env bash
# Builds Runnel's container image from this source tree (deploy/Dockerfile),
# brings up deploy/compose.yaml (a coordinator and three brokers), and checks
# through the published ports, with the host's runnel CLI, that a broker
# container restart loses nothing acknowledged: every record produced
# (acks=all, min.insync.replicas=2) is read back exactly once, in order within
# its partition, and the restarted broker rejoins every ISR.
#
# Needs root and podman. Installs what is missing with apt (podman,
# podman-compose, runc, debootstrap, the CNI DNS plugin), writes the two
# containers.conf settings podman needs on some hosts (runc, no default
# ulimits) when a container cannot start without them, and makes the
# debian:bookworm-slim base image with deploy/make-base-image.sh when podman
# does not have it (kept between runs). Where it cannot run it prints
# "SKIPPED: <why>", exits 0 and reports the case as skipped in its JUnit XML.
#
# The image build dominates: on a fresh 2-core machine about 8 min (apt in the
# build stage, a full Bazel build), incremental afterwards (Bazel's output base
# is a cache mount; an unchanged tree takes seconds). The cluster part takes
# about 15 s.
#
# Under bazel test the source tree is found through the runfile symlink of
# deploy/Dockerfile (runfiles hold only declared files, the image needs all of
# them). Run directly (tests/container_test.sh), it uses the tree it is in and
# bazel-bin/client/cli/runnel.
set -uo pipefail

started=$(date +%s)
case_name="BrokerRestartLosesNoAcknowledgedRecord"
records_per_round=3000
keys=37

if [ -n "${TEST_SRCDIR:-}" ]; then
  runfiles="$TEST_SRCDIR/$TEST_WORKSPACE"
  src=$(dirname "$(dirname "$(readlink -f "$runfiles/deploy/Dockerfile")")")
  cli="$runfiles/client/cli/runnel"
else
  src=$(cd "$(dirname "$0")/.." && pwd)
  cli=${RUNNEL_CLI:-$src/bazel-bin/client/cli/runnel}
fi
compose_file="$src/deploy/compose.yaml"
image=localhost/runnel:container-test
base_image=debian:bookworm-slim
project="runnelct$$"
tmp=$(mktemp -d)

xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<<"$1"; }

# JUnit XML for ./test.sh's count: one case, passed, failed or skipped.
write_xml() {
  [ -n "${XML_OUTPUT_FILE:-}" ] || return 0
  local status=$1 message secs failures=0 skipped=0 body=""
  message=$(xml_escape "$2")
  secs=$(($(date +%s) - started))
  case $status in
    failed) failures=1 body="<failure message=\"$message\"/>" ;;
    skipped) skipped=1 body="<skipped message=\"$message\"/>" ;;
  esac
  cat >"$XML_OUTPUT_FILE" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="1" failures="$failures" errors="0" skipped="$skipped">
  <testsuite name="ContainerTest" tests="1" failures="$failures" errors="0" skipped="$skipped" time="$secs">
    <testcase name="$case_name" classname="ContainerTest" time="$secs">$body</testcase>
  </testsuite>
</testsuites>
EOF
}

skip() {
  echo "SKIPPED: $*"
  write_xml skipped "$*"
  exit 0
}

containers() {
  podman ps -a --filter "label=io.podman.compose.project=$1" --format '{{.Names}}' 2>/dev/null
}

fail() {
  echo "FAILED: $*"
  for c in $(containers "$project"); do
    echo "---- podman logs --tail=25 $c"
    podman logs --tail=25 "$c" 2>&1
  done
  write_xml failed "$*"
  exit 1
}

# Containers, volumes and network of one compose project (ours, or one an
# earlier run left behind when it was killed).
remove_project() {
  local p=$1 c v
  for c in $(containers "$p"); do podman rm -f -t 0 "$c" >/dev/null 2>&1; done
  for v in $(podman volume ls --format '{{.Name}}' 2>/dev/null | grep "^${p}_"); do
    podman volume rm -f "$v" >/dev/null 2>&1
  done
  podman network rm -f "${p}_default" >/dev/null 2>&1
}

cleanup() {
  if command -v podman >/dev/null; then remove_project "$project"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

log_tail() { grep -v '^$' "$1" | tail -"${2:-30}"; }

# ---- can podman run here? ----
[ "$(id -u)" -eq 0 ] || skip "needs root (rootful podman, apt, port publishing)"
if [ ! -f "$src/WORKSPACE" ] || [ ! -f "$src/deploy/Dockerfile" ]; then
  skip "cannot find the source tree (runfiles are not symlinks into it)"
fi
[ -x "$cli" ] || skip "no runnel CLI at $cli (bazel build //client/cli:runnel)"

packages=(podman podman-compose runc debootstrap golang-github-containernetworking-plugin-dnsname)
if command -v dpkg-query >/dev/null; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=300 "${missing[@]}"; } >"$tmp/apt.log" 2>&1; then
      log_tail "$tmp/apt.log" 10
      skip "cannot install ${missing[*]} with apt"
    fi
  fi
fi
for c in podman podman-compose; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done

# Leftovers of runs that were killed before their cleanup ran.
for p in $(podman network ls --format '{{.Name}}' 2>/dev/null | sed -n 's/^\(runnelct[0-9]*\)_default$/\1/p'); do
  kill -0 "${p#runnelct}" 2>/dev/null || remove_project "$p"
done

t=$(date +%s)
if ! RUNNEL_BASE_IMAGE=$base_image "$src/deploy/make-base-image.sh" podman >"$tmp/base.log" 2>&1; then
  log_tail "$tmp/base.log" 10
  skip "cannot make the $base_image base image (debootstrap from the Debian archive failed)"
fi
echo "base image $base_image ready in $(($(date +%s) - t)) s"

# Some hosts need runc instead of crun (cgroups in hybrid mode) and no default
# ulimits (setrlimit is refused). Written only when a container cannot start.
probe() { podman run --rm --network=none "$base_image" true >"$tmp/probe.log" 2>&1; }
if ! probe; then
  conf=/etc/containers/containers.conf.d/50-runnel.conf
  echo "podman cannot run a container ($(log_tail "$tmp/probe.log" 1)); writing $conf"
  mkdir -p "$(dirname "$conf")"
  printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' >"$conf"
  probe || skip "podman cannot run a container here: $(log_tail "$tmp/probe.log" 1)"
fi

# ---- the image, from this tree ----
t=$(date +%s)
if ! podman build --layers -t "$image" -f "$src/deploy/Dockerfile" "$src" >"$tmp/build.log" 2>&1; then
  log_tail "$tmp/build.log" 40
  fail "podman build -f deploy/Dockerfile failed"
fi
build_secs=$(($(date +%s) - t))
echo "image $image built in $build_secs s ($(podman image inspect "$image" --format '{{.Size}}') bytes)"
user=$(podman image inspect "$image" --format '{{.Config.User}}')
[ "$user" = "10001:10001" ] || fail "the image runs as '$user', expected 10001:10001"
# Earlier builds' images of this Dockerfile, superseded now (layers still in
# use, like the build dependencies, stay).
if podman image prune -f --filter label=io.runnel.dockerfile --filter "until=$t" >"$tmp/prune.log" 2>&1; then
  echo "pruned $(grep -c . "$tmp/prune.log") images of earlier builds"
else
  echo "podman image prune failed: $(log_tail "$tmp/prune.log" 1)"
fi

# ---- the compose cluster ----
# Brokers advertise an address of this host that containers reach too (see
# deploy/compose.yaml): the gateway of the project's own network, which this
# host owns, so nothing is exposed beyond the machine.
podman network create "${project}_default" >/dev/null || fail "podman network create failed"
gateway=$(podman network inspect "${project}_default" --format '{{range .Subnets}}{{.Gateway}}{{end}}')
dns=$(podman network inspect "${project}_default" --format '{{.DNSEnabled}}')
[ "$dns" = true ] || skip "podman networks have no DNS here (golang-github-containernetworking-plugin-dnsname or aardvark-dns)"

# Four free host ports, away from the ephemeral range other tests use.
ports=()
in_use=$(ss -Hltn 2>/dev/null | awk '{ sub(/.*:/, "", $4); print $4 }')
while [ ${#ports[@]} -lt 4 ]; do
  p=$((20000 + RANDOM % 10000))
  if ! grep -qx "$p" <<<"$in_use" && [[ " ${ports[*]} " != *" $p "* ]]; then ports+=("$p"); fi
done
export RUNNEL_IMAGE=$image RUNNEL_HOST_ADDRESS=$gateway
export RUNNEL_COORDINATOR_PORT=${ports[0]} RUNNEL_BROKER1_PORT=${ports[1]}
export RUNNEL_BROKER2_PORT=${ports[2]} RUNNEL_BROKER3_PORT=${ports[3]}
bootstrap="$gateway:$RUNNEL_BROKER1_PORT"

t=$(date +%s)
podman-compose -p "$project" -f "$compose_file" up -d >"$tmp/up.log" 2>&1
alive=0
for _ in $(seq 1 120); do
  alive=$("$cli" cluster info --bootstrap="$bootstrap" 2>/dev/null | grep -c "State: alive")
  [ "$alive" -eq 3 ] && break
  sleep 0.5
done
if [ "$alive" -ne 3 ]; then
  log_tail "$tmp/up.log" 20
  fail "compose cluster: $alive of 3 brokers alive after 60 s"
fi
echo "cluster up in $(($(date +%s) - t)) s (brokers at $gateway:${ports[1]},${ports[2]},${ports[3]})"

# ---- produce, restart a broker, produce, read everything back ----
topic=container-test
"$cli" topic create "$topic" --partitions=3 --replication-factor=3 \
  --config=min.insync.replicas=2 --bootstrap="$bootstrap" >/dev/null 2>"$tmp/err" ||
  fail "topic create: $(cat "$tmp/err")"

# produce FIRST COUNT: records value-FIRST.. with keys key-(i mod $keys).
produce() {
  local first=$1 count=$2 out
  seq "$first" $((first + count - 1)) | awk -v k="$keys" '{ print "key-" ($1 % k) ":value-" $1 }' |
    "$cli" produce "$topic" --key-separator=: --acks=all --bootstrap="$bootstrap" 2>"$tmp/err" ||
    fail "produce of value-$first..: $(cat "$tmp/err")"
  out=$(cat "$tmp/err")
  [ "$out" = "$count records produced" ] || fail "produce said '$out', expected '$count records produced'"
}

# Reads the whole topic and checks it holds exactly value-0..value-(TOTAL-1),
# each once, in increasing order within each partition at contiguous offsets
# from 0, each key always in the same partition, all three partitions used.
check_topic() {
  local total=$1
  "$cli" consume "$topic" --from-beginning --print-offset --print-key \
    --max-messages="$total" --timeout-ms=15000 --bootstrap="$bootstrap" \
    >"$tmp/consumed" 2>"$tmp/err" || fail "consume: $(cat "$tmp/err")"
  awk -F'\t' -v total="$total" -v keys="$keys" '
    function bad(m) { print "  " m; if (++errors >= 20) exit 1 }
    {
      if (split($1, f, /[= ]/) != 4 || f[1] != "partition" || f[3] != "offset" ||
          $3 !~ /^value-[0-9]+$/) { bad("unexpected line: " $0); next }
      p = f[2]; o = f[4] + 0; k = $2; i = substr($3, 7) + 0
      if (!(p in next_offset)) { next_offset[p] = 0; partitions++ }
      if (o != next_offset[p]) bad("partition " p ": offset " o ", expected " next_offset[p])
      next_offset[p] = o + 1
      if ((p in last) && i <= last[p]) bad("partition " p ": value-" i " after value-" last[p])
      last[p] = i
      if (k != "key-" (i % keys)) bad("value-" i " has key " k)
      if ((k in part) && part[k] != p) bad(k " is in partitions " part[k] " and " p)
      part[k] = p
      seen[i]++
    }
    END {
      if (errors >= 20) exit 1
      for (i = 0; i < total; i++) {
        if (!(i in seen)) { if (++missing <= 10) bad("value-" i " was acknowledged but not read back") }
        else if (seen[i] > 1) bad("value-" i " read " seen[i] " times")
      }
      if (missing > 10) bad("... " missing " records missing in all")
      for (i in seen) if (i + 0 >= total) bad("value-" i " read but never produced")
      if (partitions != 3) bad("records in " partitions " partitions, expected 3")
      exit errors > 0
    }' "$tmp/consumed" >"$tmp/check" ||
    fail "topic content after $total records:
$(cat "$tmp/check")"
}

produce 0 "$records_per_round"
check_topic "$records_per_round"
echo "round 1: $records_per_round records produced and read back"

# Restart the leader of partition 0: its partitions fail over, and it must
# come back from its volume and catch up. Clients bootstrap through another
# broker from now on (a broker that is starting refuses connections).
leader=$("$cli" topic describe "$topic" --bootstrap="$bootstrap" | awk '$1 == "Partition:" && $2 == "0" { print $4 }')
case $leader in
  1) bootstrap="$gateway:$RUNNEL_BROKER2_PORT" ;;
  2 | 3) bootstrap="$gateway:$RUNNEL_BROKER1_PORT" ;;
  *) fail "partition 0 has no leader among brokers 1-3: '$leader'" ;;
esac
t=$(date +%s)
podman restart -t 30 "${project}_broker${leader}_1" >/dev/null 2>"$tmp/err" ||
  fail "podman restart broker $leader: $(cat "$tmp/err")"
echo "broker $leader container restarted in $(($(date +%s) - t)) s"

# Once back in the ISR, the restarted broker gets its leaderships back (the
# coordinator's leader balance, every 5 s). Produce after every broker knows
# it: a produce still waiting for acks=all when its leader moves is answered
# NOT_LEADER and resent, and without an idempotent producer (not built yet)
# the resent records are stored twice, which the exactly-once check below
# would report. The coordinator's view (topic describe) moves first; each
# broker applies the move at its own next heartbeat, which its log shows
# ("leading partition" / "no longer leading partition"), so wait until the
# restarted broker's last such line for partition 0 says it leads and no
# other broker's says so.
leads_partition0() {  # broker id: whether its latest line says it leads partition 0
  podman logs "${project}_broker$1_1" 2>&1 | grep "leading partition\" partition=$topic-0 " |
    tail -1 | grep -q 'msg="leading partition"'
}
for _ in $(seq 1 60); do
  agreed=0
  for b in 1 2 3; do
    if [ "$b" = "$leader" ]; then
      leads_partition0 "$b" && agreed=$((agreed + 1))
    else
      leads_partition0 "$b" || agreed=$((agreed + 1))
    fi
  done
  [ "$agreed" -eq 3 ] && break
  sleep 0.5
done
[ "$agreed" -eq 3 ] ||
  fail "broker $leader did not lead partition 0 alone again within 30 s (as its brokers log it)"
echo "broker $leader leads partition 0 again $(($(date +%s) - t)) s after its restart"

produce "$records_per_round" "$records_per_round"
total=$((2 * records_per_round))

# Every partition's ISR holds all three replicas again: the restarted broker
# reopened its log and caught up.
isr_full=0
for _ in $(seq 1 120); do
  isr_full=$("$cli" topic describe "$topic" --bootstrap="$bootstrap" 2>/dev/null |
    awk '$1 == "Partition:" { for (i = 1; i < NF; i++) if ($i == "Isr:") n += (split($(i + 1), a, ",") == 3) } END { print n + 0 }')
  [ "$isr_full" -eq 3 ] && break
  sleep 0.5
done
[ "$isr_full" -eq 3 ] || fail "broker $leader did not rejoin the ISR of every partition within 60 s
$("$cli" topic describe "$topic" --bootstrap="$bootstrap" 2>&1 | grep Partition:)"
echo "broker $leader back in every ISR $(($(date +%s) - t)) s after its restart"

check_topic "$total"
echo "round 2: all $total acknowledged records read back, in order per partition"

echo "PASSED in $(($(date +%s) - started)) s (image build $build_secs s)"
write_xml passed ""
