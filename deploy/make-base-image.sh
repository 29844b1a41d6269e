#!/usr/bin/env bash
# Makes the debian:bookworm-slim base image locally, for machines that cannot
# reach an image registry (Debian's package archive is enough). Podman (or
# Docker) then builds deploy/Dockerfile as usual.
#
#   deploy/make-base-image.sh [ENGINE]     ENGINE: podman (default) or docker
#
# Does nothing when the engine already has the image. The root file system is
# debootstrap's minbase variant, trimmed the way the official slim image is
# (no documentation, man pages or locales; apt caches and lists emptied), with
# the same apt sources (bookworm, bookworm-updates, bookworm-security). Needs
# root and the debootstrap package. Under a minute.
#
# Settings (environment, all optional):
#   RUNNEL_BASE_IMAGE     default debian:bookworm-slim
#   RUNNEL_DEBIAN_MIRROR  default http://deb.debian.org/debian
set -euo pipefail

engine=${1:-podman}
image=${RUNNEL_BASE_IMAGE:-debian:bookworm-slim}
mirror=${RUNNEL_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if "$engine" image exists "$image" 2>/dev/null ||
  { [ "$engine" = docker ] && docker image inspect "$image" >/dev/null 2>&1; }; then
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  echo "make-base-image: debootstrap is not installed (apt-get install debootstrap)" >&2
  exit 1
fi

root=$(mktemp -d /var/tmp/runnel-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "make-base-image: debootstrap bookworm ($mirror) into $root" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  rm -f "$root.log"
  exit 1
}
rm -f "$root.log"

# What the official slim image does: dpkg skips documentation from now on,
# apt keeps no caches, and the files already installed are removed.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/{man,info,groff,lintian,linda,locale}/*
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# The build host's name and resolver must not end up in the image.
: >"$root/etc/hostname"
rm -f "$root/etc/resolv.conf"

tar -C "$root" -c . | "$engine" import \
  --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$image" >/dev/null
echo "make-base-image: imported $image" >&2
