#!/usr/bin/env bash
# Installs every Debian 12 package needed to build and test hotplugfs.
# Idempotent: when all packages are already installed it does nothing (no apt-get at all).
set -euo pipefail

PACKAGES=(
  build-essential g++ meson ninja-build pkg-config
  libfuse3-dev fuse3 libspdlog-dev nlohmann-json3-dev catch2 libsystemd-dev
  udev dbus util-linux python3 python3-pytest clang libclang-rt-14-dev
  iproute2 kmod procps
  hwloc-nox numactl prometheus-node-exporter
  debhelper dpkg-dev fakeroot systemd man-db
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: need root (or sudo) to install packages" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
