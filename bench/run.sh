#!/usr/bin/env bash
# The benchmark suite in one command (docs/performance.md, "Benchmark suite"):
#   sudo ./bench/run.sh            full run (about 4-8 minutes on 2 cores)
#   sudo ./bench/run.sh --quick    fewer iterations, and 100,000-op stress passes
# Builds a release build in build-release, runs hotplugfs-bench (table on stdout, JSON in
# bench/out/results.json) and, when it is built, the 1,000,000-op consistency stress against
# fresh default-machine daemons, fast mode and --strict (summaries in bench/out/stress-*.txt).
# Exit status: non-zero if the benchmark fails or a stress pass reports violations.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$0" "$@"
fi

QUICK=()
STRESS_OPS=1000000
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=(--quick); STRESS_OPS=100000 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

# The same build as scripts/run.sh (same directory, same options), plus the benchmark targets.
./scripts/run.sh --build-only
BUILD=build-release
ninja -C "$BUILD"

OUT=bench/out
mkdir -p "$OUT"
echo
echo "=== hotplugfs-bench ==="
"$BUILD/bench/hotplugfs-bench" --daemon "$BUILD/daemon/hotplugfsd" --out "$OUT/results.json" \
  "${QUICK[@]}"

STRESS="$BUILD/bench/hotplugfs-stress"
if [ ! -x "$STRESS" ]; then
  echo
  echo "($STRESS is not built: consistency stress skipped)"
  exit 0
fi

# --- consistency stress, each pass against a fresh daemon serving the built-in machine ---
# Fast mode (the default page-cache mode) is checked with `--mode fast`, which counts a reader's
# torn read overlapping another process's write to the same file as an anomaly, not a violation;
# a daemon started with --strict is checked with `--mode strict`, where every malformed read is
# one. A stress binary without --mode gets one pass against the default daemon.
ROOT=""
PID=""
is_mounted() {  # exact mount point match in our mount table
  awk -v p="$1" '$5 == p { found = 1 } END { exit !found }' /proc/self/mountinfo
}
stop_daemon() {
  set +e
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$PID" 2>/dev/null; then
      echo "bench/run.sh: daemon $PID ignored SIGTERM; sending SIGKILL" >&2
      kill -KILL "$PID"
      sleep 0.5
    fi
  fi
  PID=""
  if [ -n "$ROOT" ]; then
    for _ in 1 2 3; do
      is_mounted "$ROOT/sys" || break
      fusermount3 -u -z "$ROOT/sys" 2>/dev/null
    done
    if is_mounted "$ROOT/sys"; then
      echo "bench/run.sh: $ROOT/sys is still mounted; leaving $ROOT" >&2
    else
      rm -rf "$ROOT"
    fi
  fi
  ROOT=""
  set -e
}
trap stop_daemon EXIT
trap 'exit 130' INT TERM HUP

# stress_pass NAME STRESS_MODE [DAEMON_ARGS...]: prints the summary, returns the stress's status.
stress_pass() {
  local name=$1 mode=$2
  shift 2
  local mode_args=()
  [ -n "$mode" ] && mode_args=(--mode "$mode")
  echo
  echo "=== hotplugfs-stress, $name: $STRESS_OPS ops against a fresh default-machine daemon ==="
  ROOT=$(mktemp -d /tmp/hotplugfs-bench-stress-XXXXXX)
  mkdir "$ROOT/sys"
  if ! "$BUILD/daemon/hotplugfsd" --pid-file "$ROOT/hotplugfsd.pid" \
      --log-file "$ROOT/hotplugfsd.log" "$@" "$ROOT/sys"; then
    echo "bench/run.sh: hotplugfsd $* did not start:" >&2
    tail -n 20 "$ROOT/hotplugfsd.log" >&2 || true
    PID=$(cat "$ROOT/hotplugfsd.pid" 2>/dev/null || true)
    stop_daemon
    return 1
  fi
  PID=$(cat "$ROOT/hotplugfsd.pid")
  local rc=0
  "$STRESS" --root "$ROOT/sys" --ops "$STRESS_OPS" "${mode_args[@]}" 2>&1 \
    | tee "$OUT/stress-$name.txt" || rc=${PIPESTATUS[0]}
  stop_daemon
  echo "hotplugfs-stress ($name) exit status: $rc (summary in $OUT/stress-$name.txt)"
  return "$rc"
}

RC=0
STRESS_HELP=$("$STRESS" --help 2>&1 || true)
DAEMON_HELP=$("$BUILD/daemon/hotplugfsd" --help 2>&1 || true)
if [[ $STRESS_HELP == *--mode* ]]; then
  stress_pass fast fast || RC=1
  if [[ $DAEMON_HELP == *--strict* ]]; then
    stress_pass strict strict --strict || RC=1
  fi
else
  stress_pass default "" || RC=1
fi
exit "$RC"
