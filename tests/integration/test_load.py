"""Load and resources (docs/performance.md, "Load and resources"): bench/load.cpp's tool,
hotplugfs-load, at reduced counts (--reduced), one check per test. Each check starts its own
daemons (and a dbus-daemon for check 2), prints what it measured against its bounds and exits
non-zero when a bound failed:

1. 100,000 lookups of names that do not exist: daemon RSS growth <= 8 MiB;
2. 10,000 D-Bus method calls from 8 processes over a private dbus-daemon: all answered right,
   RSS growth <= 1 MiB;
3. a subscriber that never reads its socket while blocks change: read latency near the same
   load's without it, RSS growth <= 16 MiB, a well-behaved subscriber gets every signal;
4. 16 clients reading and writing every block for 10 s, random ones SIGKILLed: no hang, the
   daemon's fd count back to its baseline, final states as last successfully written.

The tool's path: $HOTPLUGFS_LOAD, else bench/hotplugfs-load of the daemon's build directory.
A sanitizer build of the daemon ($HOTPLUGFSD under scripts/test.sh) keeps freed memory in
quarantine and has a larger allocator: its RSS bounds get --rss-slack-kib, and its quarantine is
kept small so that the bounds still say something."""

import os
import signal
import subprocess

import pytest

import hpfs

TIMEOUT = 80  # seconds for one check; all four take about 25 s in a release build
SANITIZER_SLACK_KIB = 8192


def load_executable():
    path = os.environ.get("HOTPLUGFS_LOAD")
    if path:
        return path if os.path.isabs(path) else os.path.join(hpfs.REPO, path)
    build = os.path.dirname(os.path.dirname(hpfs.daemon_executable()))
    return os.path.join(build, "bench", "hotplugfs-load")


def sanitized(exe):
    with open(exe, "rb") as f:
        return b"__asan_init" in f.read()


def run_load(check):
    exe, daemon = load_executable(), hpfs.daemon_executable()
    assert os.access(exe, os.X_OK), f"load tool not found: {exe} (set HOTPLUGFS_LOAD)"
    args = [exe, "--daemon", daemon, "--reduced", "--only", str(check)]
    env = dict(hpfs.TOOL_ENV)
    if sanitized(daemon):
        args += ["--rss-slack-kib", str(SANITIZER_SLACK_KIB)]
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"
    proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM lets the tool stop its daemons and unmount; SIGKILL only if it cannot.
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        pytest.fail(f"hotplugfs-load --only {check} did not finish within {TIMEOUT} s:\n{out}")
    return proc.returncode, out


@pytest.mark.parametrize("check", [1, 2, 3, 4])
def test_load_check_within_bounds(check, capsys):
    rc, out = run_load(check)
    with capsys.disabled():
        print("\n" + out.rstrip())
    assert f"=== {check}. " in out, out
    assert "  FAIL  " not in out, out
    assert "  PASS  " in out, out
    assert rc == 0, out
