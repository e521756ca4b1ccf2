#!/usr/bin/env bash
# Builds hotplugfs and serves the built-in default machine until Ctrl-C:
#   sudo ./scripts/run.sh [ROOT]        (default ROOT: /run/hotplugfs)
# The emulated sysfs root is mounted at ROOT/sys, so `lsmem --sysroot ROOT` reads it.
# Extra daemon options may follow ROOT, e.g. --config examples/kernel-6.18-vm.json.
#   sudo ./scripts/run.sh --build-only  only installs dependencies and builds
#   (build-release/daemon/hotplugfsd and build-release/daemon/hotplugctl).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$0" "$@"
fi

./scripts/install-deps.sh

# The user build: release, no unit tests, and warnings never fatal (another g++ or clang may warn
# where this one does not). bench/run.sh and scripts/test.sh build through this same command.
BUILD=build-release
SETUP=(--buildtype=release -Dtests=false -Dwerror=false)
if [ -f "$BUILD/meson-private/coredata.dat" ]; then
  meson setup --reconfigure "$BUILD" "${SETUP[@]}" >/dev/null
else
  rm -rf -- "$BUILD"
  meson setup "$BUILD" "${SETUP[@]}" >/dev/null
fi
ninja -C "$BUILD" daemon/hotplugfsd daemon/hotplugctl
[ "${1:-}" = "--build-only" ] && exit 0

ROOT=${1:-/run/hotplugfs}
shift || true
mkdir -p "$ROOT/sys"
cat <<TXT

hotplugfs serves the default machine at $ROOT/sys (Ctrl-C stops and unmounts). Try:
  lsmem --sysroot $ROOT -o RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES
  echo online_movable > $ROOT/sys/devices/system/memory/memory72/state
  echo 0x440000000 > $ROOT/sys/devices/system/memory/probe

TXT
exec "$BUILD/daemon/hotplugfsd" --foreground "$@" "$ROOT/sys"
