#!/usr/bin/env bash
# Runs in deploy/Dockerfile's build stage, from the source root: builds the
# binaries with Bazel, copies them to OUT/bin and writes OUT/runtime-packages,
# the Debian packages that provide the shared libraries they load.
#
#   deploy/build-in-container.sh OUT
#
# Bazel's output base (/root/.cache/bazel) is a cache mount kept between
# image builds. Bazel does not track system headers or libraries, so the
# cache is only reused when the installed packages are exactly those it was
# built against; otherwise it is emptied first.
set -euo pipefail
out=${1:?usage: build-in-container.sh OUT}
cache=/root/.cache/bazel
targets=(
  //coordinator:runnel-coordinator
  //broker/server:runnel-broker
  //client/cli:runnel
  //client/perf:runnel-perf
)

mkdir -p "$cache"
stamp=$(dpkg-query -W -f='${Package}=${Version}\n' | sha256sum | cut -d' ' -f1)
if [ "$(cat "$cache/runnel-packages.sha256" 2>/dev/null)" != "$stamp" ]; then
  if [ -n "$(ls -A "$cache")" ]; then
    echo "build-in-container: installed packages changed; emptying the Bazel cache" >&2
  fi
  find "$cache" -mindepth 1 -delete
fi

# Bazel's server would outlive this step; a one-shot client exits with it.
bazel --batch build "${targets[@]}"
echo "$stamp" >"$cache/runnel-packages.sha256"

mkdir -p "$out/bin"
for t in "${targets[@]}"; do
  path=${t#//}
  cp "bazel-bin/${path/://}" "$out/bin/"
done

# Every shared library a binary loads, resolved to the package that ships it.
# ldd may print /lib/... for files dpkg registered as /usr/lib/... (merged
# /usr) or the reverse, so both spellings are tried.
ldd "$out"/bin/* | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
  while read -r lib; do
    real=$(readlink -f "$lib")
    for p in "$lib" "$real" "${real#/usr}" "/usr$lib"; do
      if pkg=$(dpkg-query -S "$p" 2>/dev/null); then
        pkg=${pkg%%$'\n'*}
        echo "${pkg%%:*}"
        continue 2
      fi
    done
    echo "build-in-container: no Debian package ships $lib" >&2
    exit 1
  done | sort -u >"$out/runtime-packages"
echo "build-in-container: runtime packages: $(tr '\n' ' ' <"$out/runtime-packages")" >&2
