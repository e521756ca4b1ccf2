#!/usr/bin/env bash
# The single test command: sudo ./scripts/test.sh
#
# Installs dependencies, builds with AddressSanitizer + UBSan into build-test/, runs every Catch2
# suite (build-test/tests/**/*-tests) and the pytest integration suite, writes JUnit XML to
# build-test/results/ and prints a summary whose last line is "N passed, N failed".
# Exits non-zero if anything failed, if nothing ran, or if the build failed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo --preserve-env=CI,HOTPLUGFS_FUZZ_WRITES,HOTPLUGFS_TEST_TIMEOUT "$0" "$@"
  fi
  echo "test.sh: the integration tests mount FUSE filesystems and need root" >&2
  exit 1
fi

./scripts/install-deps.sh

BUILD=build-test
RESULTS="$BUILD/results"
PY=/usr/bin/python3

# GCC 12 with -fsanitize=address reports false -Wmaybe-uninitialized warnings inside libstdc++'s
# <regex> (pulled in by Catch2); with werror they would break the sanitizer build only.
# -O1 -g1 halve the compile time of -O2 -g under the sanitizers and keep usable reports; the
# benchmark (built by bench/run.sh in release mode) is not needed here, its stress tool is.
# Warnings are fatal here (-Dwerror=true), where developers and CI see them first.
MESON_OPTS=(-Doptimization=1 -Ddebug=true -Db_sanitize=address,undefined -Db_lundef=false
            "-Dcpp_args=-Wno-maybe-uninitialized -g1" -Dbench=false -Dwerror=true)
if [ -f "$BUILD/meson-private/coredata.dat" ]; then
  meson setup --reconfigure "$BUILD" "${MESON_OPTS[@]}"
else
  rm -rf -- "$BUILD"
  meson setup "$BUILD" "${MESON_OPTS[@]}"
fi

rm -rf -- "$RESULTS"
mkdir -p "$RESULTS/sanitizer"

# Writes a JUnit file holding one failed test case; used when a suite crashed or left no report.
synthetic_failure() { # <xml-file> <suite> <case> <message>
  "$PY" - "$@" <<'EOF'
import sys
from xml.sax.saxutils import escape, quoteattr
path, suite, case, message = sys.argv[1:5]
with open(path, "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    f.write(f'<testsuites><testsuite name={quoteattr(suite)} tests="1" failures="1" errors="0">\n')
    f.write(f'<testcase classname={quoteattr(suite)} name={quoteattr(case)}>'
            f'<failure message={quoteattr(message[:200])}>{escape(message)}</failure></testcase>\n')
    f.write('</testsuite></testsuites>\n')
EOF
}

# Prints the number of failed+errored test cases in a JUnit file, or -1 if it is unreadable.
junit_failures() { # <xml-file>
  "$PY" - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(-1); sys.exit(0)
print(sum(1 for tc in root.iter("testcase")
          if tc.find("failure") is not None or tc.find("error") is not None))
EOF
}

if ! ninja -C "$BUILD"; then
  synthetic_failure "$RESULTS/build.xml" build "ninja -C $BUILD" "the build failed; see the log above"
  exec "$PY" tests/summarize.py "$RESULTS/build.xml"
fi

# 0. The user build: exactly what the README's first command (scripts/run.sh) builds, with its
#    options, into build-release/. Two JUnit cases: it builds, and this compiler has nothing to
#    warn about in it (warnings are not fatal for users, but CI must see them). The integration
#    suite then starts it (tests/integration/test_user_build.py).
echo "== user build (scripts/run.sh --build-only)"
USER_LOG="$RESULTS/user-build.log"
user_rc=0
./scripts/run.sh --build-only >"$USER_LOG" 2>&1 || user_rc=$?
tail -n 3 "$USER_LOG"
"$PY" - "$RESULTS/user-build.xml" "$USER_LOG" "$user_rc" <<'PYEOF'
import re, sys
from xml.sax.saxutils import escape, quoteattr
path, log, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(log, encoding="utf-8", errors="replace").read()
warnings = sorted(set(l for l in text.splitlines() if re.search(r"\bwarning:", l)))
cases = [("scripts/run.sh --build-only succeeds",
          None if rc == 0 else f"exit status {rc}:\n" + text[-6000:]),
         ("the user build has no compiler warnings",
          None if not warnings else "\n".join(warnings[:40]))]
with open(path, "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    fails = sum(1 for _, m in cases if m)
    f.write(f'<testsuites><testsuite name="user-build" tests="{len(cases)}" failures="{fails}" errors="0">\n')
    for name, message in cases:
        f.write(f'<testcase classname="user-build" name={quoteattr(name)}>')
        if message:
            f.write(f'<failure message={quoteattr(message[:200])}>{escape(message)}</failure>')
        f.write('</testcase>\n')
    f.write('</testsuite></testsuites>\n')
PYEOF

# 1. Catch2 unit suites.
mapfile -t SUITES < <(find "$BUILD/tests" -type f -name '*-tests' -perm -u+x -not -path '*.p/*' 2>/dev/null | sort)
for exe in "${SUITES[@]}"; do
  name=$(basename "$exe")
  xml="$RESULTS/$name.xml"
  echo "== $name"
  rc=0
  timeout --kill-after=10 300 "$exe" --reporter junit --out "$xml" || rc=$?
  if [ "$rc" -ne 0 ]; then
    fails=-1
    [ -s "$xml" ] && fails=$(junit_failures "$xml")
    if [ "$fails" -le 0 ]; then
      # Crash, sanitizer report at exit, timeout, or an unreadable report: count it as a failure.
      [ "$fails" -lt 0 ] && rm -f -- "$xml"
      synthetic_failure "$RESULTS/$name-exit.xml" "$name" "$name exit status" \
        "$exe exited with status $rc (crash, sanitizer report or timeout; see the log above)"
    fi
  fi
done

# 1b. Fuzzing the udev rules parser and the state file loader: a clang build of their libFuzzer
#     targets in build-fuzz/, each run for 60 s from its seed corpus; one JUnit case per target,
#     failed if it does not build or finds a crash.
FUZZ_BUILD=build-fuzz
FUZZ_TARGETS=(rules-parser-fuzz state-loader-fuzz)
declare -A FUZZ_SEEDS=([rules-parser-fuzz]=tests/fuzz/corpus [state-loader-fuzz]=tests/fuzz/state-corpus)
fuzz_build_rc=0
if [ -f "$FUZZ_BUILD/meson-private/coredata.dat" ]; then
  CXX=clang++ meson setup --reconfigure "$FUZZ_BUILD" -Dfuzz=true -Dtests=false -Dwerror=true --buildtype=debugoptimized || fuzz_build_rc=$?
else
  rm -rf -- "$FUZZ_BUILD"
  CXX=clang++ meson setup "$FUZZ_BUILD" -Dfuzz=true -Dtests=false -Dwerror=true --buildtype=debugoptimized || fuzz_build_rc=$?
fi
for target in "${FUZZ_TARGETS[@]}"; do
  echo "== $target"
  FUZZ_XML="$RESULTS/$target.xml"
  FUZZ_LOG="$FUZZ_BUILD/$target.log"
  FUZZ_CORPUS="$FUZZ_BUILD/corpus/$target"
  FUZZ_ARTIFACTS="$FUZZ_BUILD/artifacts/$target"
  fuzz_rc=$fuzz_build_rc
  [ "$fuzz_rc" -eq 0 ] && { ninja -C "$FUZZ_BUILD" "tests/fuzz/$target" || fuzz_rc=$?; }
  if [ "$fuzz_rc" -ne 0 ]; then
    synthetic_failure "$FUZZ_XML" fuzz "$target 60 s" "the fuzz target failed to build (status $fuzz_rc); see the log above"
    continue
  fi
  rm -rf -- "$FUZZ_CORPUS" && mkdir -p "$FUZZ_CORPUS" "$FUZZ_ARTIFACTS"
  timeout --kill-after=10 180 "$FUZZ_BUILD/tests/fuzz/$target" -max_total_time=60 \
    -artifact_prefix="$FUZZ_ARTIFACTS/" "$FUZZ_CORPUS" "${FUZZ_SEEDS[$target]}" \
    >"$FUZZ_LOG" 2>&1 || fuzz_rc=$?
  tail -n 5 "$FUZZ_LOG"
  if [ "$fuzz_rc" -ne 0 ]; then
    synthetic_failure "$FUZZ_XML" fuzz "$target 60 s" \
      "the fuzzer exited with status $fuzz_rc (crash artifacts in $FUZZ_ARTIFACTS):
$(tail -n 60 "$FUZZ_LOG")"
  else
    "$PY" - "$FUZZ_XML" "$target 60 s" <<'PYEOF'
import sys
from xml.sax.saxutils import quoteattr
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    f.write('<testsuites><testsuite name="fuzz" tests="1" failures="0" errors="0">\n')
    f.write(f'<testcase classname="fuzz" name={quoteattr(sys.argv[2])}/>\n')
    f.write('</testsuite></testsuites>\n')
PYEOF
  fi
done

# 2. Integration tests (pytest). The daemon's sanitizer reports go to files, because the daemon
#    detaches from the terminal.
echo "== integration"
SAN_DIR="$REPO/$RESULTS/sanitizer"
rc=0
HOTPLUGFSD="$BUILD/daemon/hotplugfsd" \
HOTPLUGFS_USER_BUILD="$([ "$user_rc" -eq 0 ] && echo "$REPO/build-release")" \
ASAN_OPTIONS="log_path=$SAN_DIR/asan:detect_leaks=1:abort_on_error=0" \
UBSAN_OPTIONS="log_path=$SAN_DIR/ubsan:print_stacktrace=1" \
  timeout --kill-after=30 900 \
  "$PY" -m pytest tests/integration --junitxml="$RESULTS/integration.xml" -v -p no:cacheprovider || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
  fails=-1
  [ -s "$RESULTS/integration.xml" ] && fails=$(junit_failures "$RESULTS/integration.xml")
  if [ "$fails" -le 0 ]; then
    [ "$fails" -lt 0 ] && rm -f -- "$RESULTS/integration.xml"
    synthetic_failure "$RESULTS/integration-exit.xml" integration "pytest exit status" \
      "pytest exited with status $rc (interrupted, timed out, usage error or no tests collected)"
  fi
fi

# Mounts the integration tests failed to remove (their temp dirs start with hotplugfs-it-).
leftover=$(awk '$3 ~ /^fuse/ && $2 ~ /\/hotplugfs-it-/ {print $2}' /proc/mounts || true)
if [ -n "$leftover" ]; then
  while read -r mnt; do fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" || true; done <<<"$leftover"
  synthetic_failure "$RESULTS/integration-leftovers.xml" integration "no leftover FUSE mounts" \
    "FUSE mounts left behind by the integration tests: $leftover"
fi

# Sanitizer reports written by daemons during the integration run.
reports=$(find "$SAN_DIR" -type f 2>/dev/null | sort || true)
if [ -n "$reports" ]; then
  # The first report in full, then one SUMMARY line per report.
  first=$(head -n 1 <<<"$reports")
  body=$(echo "--- $first"; head -c 12000 "$first"
         echo "--- all $(wc -l <<<"$reports") reports:"
         while read -r f; do echo "$(basename "$f"): $(grep -m1 '^SUMMARY' "$f" || head -n 2 "$f" | tail -n 1)"; done <<<"$reports")
  echo "$body" >&2
  synthetic_failure "$RESULTS/daemon-sanitizer.xml" integration "daemon sanitizer reports" "$body"
fi

# 3. Summary; its exit status is the script's.
shopt -s nullglob
exec "$PY" tests/summarize.py "$RESULTS"/*.xml
