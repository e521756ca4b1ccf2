#!/usr/bin/env bash
# Builds the hotplugfs Debian package:  ./packaging/build-deb.sh [OUTDIR]
#
# dpkg-buildpackage wants debian/ at the top of the source tree; this repository keeps it in
# packaging/debian. The script copies the source tree (without build directories and VCS data)
# into a temporary directory, puts packaging/debian there as debian/, runs
# `dpkg-buildpackage -us -uc -b` and copies the resulting .deb file(s) to OUTDIR (default:
# build-deb/ in the repository). The temporary tree is removed afterwards.
#
# DEB_BUILD_OPTIONS is passed through; without a parallel= entry, parallel=$(nproc) is added.
# Fast build for tests: DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2".
# Needs the Build-Depends of packaging/debian/control (./scripts/install-deps.sh installs them).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$REPO/build-deb}
mkdir -p -- "$OUT"
OUT=$(cd "$OUT" && pwd)

VERSION=$(dpkg-parsechangelog -l "$REPO/packaging/debian/changelog" -S Version)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hotplugfs-deb.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
SRC="$WORK/hotplugfs-$VERSION"
mkdir -- "$SRC"

# The source tree as it is (committed or not), without what .gitignore keeps out of it.
tar -C "$REPO" --exclude-vcs --exclude='./build*' --exclude='./bench/out' \
    --exclude='./tests/results' --exclude='__pycache__' --exclude='*.pyc' \
    --exclude='./debian' --exclude='./obj-*' -cf - . | tar -C "$SRC" -xf -
cp -a -- "$REPO/packaging/debian" "$SRC/debian"

case " ${DEB_BUILD_OPTIONS:-} " in
  *" parallel="*) ;;
  *) export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=$(nproc)" ;;
esac
echo "build-deb: building hotplugfs $VERSION in $SRC (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
(cd "$SRC" && dpkg-buildpackage -us -uc -b)

shopt -s nullglob
debs=("$WORK"/*.deb)
if [ "${#debs[@]}" -eq 0 ]; then
  echo "build-deb: dpkg-buildpackage produced no .deb" >&2
  exit 1
fi
cp -- "${debs[@]}" "$OUT/"
for deb in "${debs[@]}"; do echo "build-deb: $OUT/$(basename "$deb")"; done
