"""Failure paths over real mounts: slow and hanging offlines (block_faults migration_ms), the
notifier-error-inject files under kernel/debug (also found through a debugfs mount in a private
namespace, as the kernel's selftest finds them) and hardware poisoning (memory_failure).

Slow-offline tests run against both daemon modes: the default, exact one (every open and every
read of a file that can change reaches the daemon) and --fast (the kernel's page cache serves
reads)."""

import errno
import json
import os
import shlex
import subprocess
import sys
import threading
import time

import pytest

import hpfs
from hpfs import INJECT, err, write_errno

BS = hpfs.BLOCK_SIZE
GiB = 1 << 30

SLOW, HANG, QUICK = 33, 34, 35   # blocks of SLOW_CONFIG
SLOW_MS = 3000

# Blocks 0-31 boot memory (online), 32-39 hot-added (offline); 33 migrates for 3 s on offline,
# 34 never finishes.
SLOW_CONFIG = {
    "nodes": [{"id": 0, "cpus": "0-1"}],
    "memory": [
        {"start": "0x0", "size": "4G", "node": 0},
        {"start": "0x100000000", "size": "1G", "node": 0, "hotplugged": True,
         "state": "offline"},
    ],
    "block_faults": [
        {"block": SLOW, "migration_ms": SLOW_MS},
        {"block": HANG, "migration_ms": -1},
    ],
}

EHWPOISON = getattr(errno, "EHWPOISON", 133)  # Linux; older Pythons lack the name

MODES = {"exact": (), "fast": ("--fast",)}


def start(daemon, tmp_path, config, mode="exact"):
    """Starts a daemon on `config` (a dict) with an event log; returns (daemon, event log path)."""
    log = str(tmp_path / "events.jsonl")
    d = daemon(config=hpfs.write_config(tmp_path, config),
               extra_args=("--event-log", log, *MODES[mode]))
    return d, log


def events_for(log, block, action=None):
    return [e for e in hpfs.read_events(log)
            if hpfs.block_of(e) == block and (action is None or e["action"] == action)]


def cat(*paths):
    """Reads files from another process (cat); returns (exit status, stdout bytes, stderr)."""
    r = subprocess.run(["cat", *paths], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10, env=hpfs.TOOL_ENV)
    return r.returncode, r.stdout, r.stderr.decode()


def sh_write(path, word):
    return f"echo {word} > {shlex.quote(path)}"


def background_offline(d, block):
    """`sh -c 'echo offline > memoryN/state'` in the background; returns (Popen, start time)."""
    t0 = time.monotonic()
    p = subprocess.Popen(["sh", "-c", sh_write(d.block(block, "state"), "offline")],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=hpfs.TOOL_ENV)
    return p, t0


def online_movable(d, block):
    assert write_errno(d.block(block, "state"), b"online_movable\n") == len(b"online_movable\n")
    assert d.state(block) == b"online\n"


# --- 1. a slow offline shows going-offline ------------------------------------------------------
@pytest.mark.parametrize("mode", sorted(MODES))
def test_slow_offline_reads_going_offline(daemon, tmp_path, mode):
    d, log = start(daemon, tmp_path, SLOW_CONFIG, mode)
    online_movable(d, SLOW)
    [online_event] = events_for(log, SLOW)
    assert online_event["action"] == "online"

    writer, t0 = background_offline(d, SLOW)
    try:
        # Read from other processes at several points of the 3 s migration.
        for at in (0.3, 1.2, 2.1):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            assert cat(d.block(SLOW, "state")) == (0, b"going-offline\n", "")
            assert cat(d.block(SLOW, "online")) == (0, b"1\n", "")
            assert writer.poll() is None, f"the offline ended before {at} s"
            assert events_for(log, SLOW, "offline") == [], "offline event before completion"
        out, errs = writer.communicate(timeout=10)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    elapsed = time.monotonic() - t0
    assert (writer.returncode, out, errs) == (0, b"", b"")
    assert SLOW_MS / 1000 - 0.1 <= elapsed < SLOW_MS / 1000 + 1.5, elapsed

    assert cat(d.block(SLOW, "state")) == (0, b"offline\n", "")
    assert d.state(SLOW) == b"offline\n"
    assert d.read_mem(f"memory{SLOW}/online") == b"0\n"
    events = events_for(log, SLOW)
    assert [e["action"] for e in events] == ["online", "offline"]
    off = events[1]
    assert off["seqnum"] > online_event["seqnum"]
    assert (off["devpath"], off["subsystem"]) == (f"/devices/system/memory/memory{SLOW}", "memory")
    assert off["env"] == {"ACTION": "offline", "DEVPATH": f"/devices/system/memory/memory{SLOW}",
                          "SUBSYSTEM": "memory", "SEQNUM": str(off["seqnum"])}


# --- 2. the caller gives up: the offline is abandoned -------------------------------------------
@pytest.mark.parametrize("block", [SLOW, HANG], ids=["3000ms", "forever"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_timeout_abandons_offline(daemon, tmp_path, mode, block):
    d, log = start(daemon, tmp_path, SLOW_CONFIG, mode)
    online_movable(d, block)
    online_movable(d, QUICK)

    t0 = time.monotonic()
    r = hpfs.run(["timeout", "1", "sh", "-c", sh_write(d.block(block, "state"), "offline")],
                 timeout=15)
    elapsed = time.monotonic() - t0
    assert r.returncode == 124, (r.returncode, r.stderr)
    assert 0.9 <= elapsed < 2.0, elapsed

    assert cat(d.block(block, "state"), d.block(block, "online")) == (0, b"online\n1\n", "")
    assert d.state(block) == b"online\n"
    assert events_for(log, block, "offline") == []

    # Nothing of the abandoned request is left waiting: a quick offline goes through at once.
    t1 = time.monotonic()
    r = hpfs.run(["sh", "-c", sh_write(d.block(QUICK, "state"), "offline")], timeout=15)
    quick = time.monotonic() - t1
    assert (r.returncode, r.stderr) == (0, "")
    assert quick < 1.0, quick
    assert d.state(QUICK) == b"offline\n"
    assert [e["action"] for e in events_for(log, QUICK)] == ["online", "offline"]
    # and the abandoned block is still online, with no late offline event
    assert d.state(block) == b"online\n"
    assert events_for(log, block, "offline") == []


EINTR_WRITER = r"""
import ctypes, errno, json, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
signal.signal(signal.SIGALRM, lambda *a: None)      # a handler: the write returns, not the process
fd = os.open(sys.argv[1], os.O_WRONLY)
signal.setitimer(signal.ITIMER_REAL, float(sys.argv[2]))
t0 = time.monotonic()
n = libc.write(fd, b"offline\n", 8)
e = ctypes.get_errno() if n < 0 else 0
print(json.dumps({"n": n, "errno": errno.errorcode.get(e, e), "elapsed": time.monotonic() - t0}))
"""


@pytest.mark.parametrize("block", [SLOW, HANG], ids=["3000ms", "forever"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_signal_interrupts_offline_with_eintr(daemon, tmp_path, mode, block):
    """The writer catches a signal (SIGALRM after 1 s): write() fails EINTR, the block stays
    online (spec §4)."""
    d, log = start(daemon, tmp_path, SLOW_CONFIG, mode)
    online_movable(d, block)
    r = hpfs.run([sys.executable, "-c", EINTR_WRITER, d.block(block, "state"), "1.0"],
                 timeout=15)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert (res["n"], res["errno"]) == (-1, "EINTR")
    assert 0.9 <= res["elapsed"] < 2.0, res
    assert d.state(block) == b"online\n"
    assert d.read_mem(f"memory{block}/online") == b"1\n"
    assert events_for(log, block, "offline") == []


# --- 3. readers of other blocks are not held up by a slow offline -------------------------------
READER = r"""
import json, sys, time
root, blocks, loops = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
seen = {}
t0 = time.monotonic()
for i in range(loops):
    n = blocks[i % len(blocks)]
    for attr in ("state", "valid_zones"):
        with open(f"{root}/memory{n}/{attr}", "rb") as f:
            seen.setdefault(f"{n}/{attr}", set()).add(f.read().decode("latin-1"))
t1 = time.monotonic()
print(json.dumps({"start": t0, "end": t1, "seen": {k: sorted(v) for k, v in seen.items()}}))
"""

VALID_ZONES = {"none\n", "DMA\n", "DMA32\n", "Normal\n", "Movable\n", "Normal Movable\n",
               "Movable Normal\n", "DMA32 Movable\n", "DMA Movable\n"}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_readers_of_other_blocks_not_blocked(daemon, tmp_path, mode):
    d, log = start(daemon, tmp_path, SLOW_CONFIG, mode)
    online_movable(d, SLOW)
    for n in (36, 37):
        online_movable(d, n)
    others = [n for n in range(0, 40) if n != SLOW]
    expected_state = {n: "online\n" if n < 32 or n in (36, 37) else "offline\n" for n in others}

    writer, t0 = background_offline(d, SLOW)
    done = []
    watcher = threading.Thread(target=lambda: (writer.wait(), done.append(time.monotonic())),
                               daemon=True)
    watcher.start()
    try:
        time.sleep(0.3)  # the migration is under way
        assert cat(d.block(SLOW, "state")) == (0, b"going-offline\n", "")
        r = hpfs.run([sys.executable, "-c", READER, d.mem(), json.dumps(others), "200"],
                     timeout=15)
        assert r.returncode == 0, r.stderr
        res = json.loads(r.stdout)
        watcher.join(timeout=10)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert done, "the offline did not finish"
    assert writer.returncode == 0, writer.stderr.read()
    offline_done = done[0]
    assert offline_done - t0 >= SLOW_MS / 1000 - 0.1
    assert res["start"] > t0
    assert res["end"] < offline_done, (
        f"reader loop ended {res['end'] - t0:.3f} s after the offline started, "
        f"the offline ended at {offline_done - t0:.3f} s")

    for n in others:
        assert res["seen"][f"{n}/state"] == [expected_state[n]], n
        [zones] = res["seen"][f"{n}/valid_zones"]
        assert zones in VALID_ZONES, (n, zones)
    assert d.state(SLOW) == b"offline\n"
    assert [e["action"] for e in events_for(log, SLOW)] == ["online", "offline"]


# --- 4. notifier-error-inject -------------------------------------------------------------------
def inject_file(d, action):
    return d.path(f"{INJECT}/{action}/error")


def echo(path, word):
    """`echo WORD > PATH` in bash: (exit status, stderr without bash's prefix)."""
    r = hpfs.bash(sh_write(path, word))
    return r.returncode, hpfs.strip_bash_prefix(r.stderr)


@pytest.fixture
def default_machine(daemon, tmp_path):
    """The built-in machine (72-135 hot-added and offline) with an event log."""
    log = str(tmp_path / "events.jsonl")
    return daemon(extra_args=("--event-log", log)), log


def test_inject_going_online(default_machine):
    d, log = default_machine
    e = inject_file(d, "MEM_GOING_ONLINE")
    assert d.read("kernel/debug/notifier-error-inject/memory/priority") == b"0\n"
    assert d.read(f"{INJECT}/MEM_GOING_ONLINE/error") == b"0\n"
    assert write_errno(e, b"-12\n") == 4
    assert d.read(f"{INJECT}/MEM_GOING_ONLINE/error") == b"-12\n"

    assert echo(d.block(72, "state"), "online") == (1, "echo: write error: Cannot allocate memory")
    for word in (b"online", b"online_kernel\n", b"online_movable\n"):
        assert write_errno(d.block(72, "state"), word) == err("ENOMEM"), word
    assert write_errno(d.block(72, "online"), b"1\n") == err("ENOMEM")
    assert d.state(72) == b"offline\n"
    assert d.read_mem("memory72/online") == b"0\n"
    assert events_for(log, 72) == []
    # offlining is not affected
    assert write_errno(d.block(40, "state"), b"offline\n") == len(b"offline\n")
    assert d.state(40) == b"offline\n"

    assert write_errno(e, b"0\n") == 2
    assert d.read(f"{INJECT}/MEM_GOING_ONLINE/error") == b"0\n"
    assert echo(d.block(72, "state"), "online") == (0, "")
    assert d.state(72) == b"online\n"
    assert [ev["action"] for ev in events_for(log, 72)] == ["online"]


def test_inject_going_offline(default_machine):
    d, log = default_machine
    e = inject_file(d, "MEM_GOING_OFFLINE")
    assert write_errno(e, b"-16\n") == 4
    assert d.read(f"{INJECT}/MEM_GOING_OFFLINE/error") == b"-16\n"

    assert echo(d.block(40, "state"), "offline") == (1,
                                                     "echo: write error: Device or resource busy")
    assert write_errno(d.block(40, "state"), b"offline") == err("EBUSY")
    assert write_errno(d.block(40, "online"), b"0") == err("EBUSY")
    assert d.state(40) == b"online\n"
    assert events_for(log, 40) == []
    # onlining is not affected
    assert echo(d.block(72, "state"), "online_movable") == (0, "")
    assert d.state(72) == b"online\n"

    assert write_errno(e, b"0") == 1
    assert d.read(f"{INJECT}/MEM_GOING_OFFLINE/error") == b"0\n"
    assert echo(d.block(40, "state"), "offline") == (0, "")
    assert d.state(40) == b"offline\n"
    assert [ev["action"] for ev in events_for(log, 40)] == ["offline"]


@pytest.mark.parametrize("action", ["MEM_GOING_ONLINE", "MEM_GOING_OFFLINE"])
def test_inject_values(default_machine, action):
    d, _ = default_machine
    e = inject_file(d, action)
    rel = f"{INJECT}/{action}/error"
    assert write_errno(e, b"-12") == 3
    for bad in (b"1", b"1\n", b"-4096", b"-4096\n", b"garbage", b"garbage\n", b"12"):
        assert write_errno(e, bad) == err("EINVAL"), bad
        assert d.read(rel) == b"-12\n", bad
    r = hpfs.bash(f"echo garbage > {shlex.quote(e)}")
    assert (r.returncode, hpfs.strip_bash_prefix(r.stderr)) == (
        1, "echo: write error: Invalid argument")
    for good, shown in ((b"-4095\n", b"-4095\n"), (b"-1", b"-1\n"), (b"0\n", b"0\n")):
        assert write_errno(e, good) == len(good)
        assert d.read(rel) == shown


# --- 5. the same through debugfs, as a selftest finds it ----------------------------------------
# Run by bash (as the kernel's selftest is), R = the daemon's mount point.
DEBUGFS_SCRIPT = r"""
set -u
mount -t debugfs none /sys/kernel/debug || exit 77
mount --bind "$R/kernel/debug" /sys/kernel/debug || exit 78
DEBUGFS=$(mount -t debugfs | head -1 | awk '{print $3}')
echo "debugfs=$DEBUGFS"
ERR=$DEBUGFS/notifier-error-inject/memory/actions/MEM_GOING_ONLINE/error
# guard: never touch a real debugfs
if [ "$(stat -c %d "$ERR")" != "$(stat -c %d "$R/kernel/debug")" ]; then
  echo "guard: $ERR is not the emulated tree" >&2
  exit 98
fi
SYSMEM=/sys/devices/system/memory
echo -12 > "$ERR" || exit 3
echo "armed=$(cat "$ERR")"
if echo online > $SYSMEM/memory72/state 2>/tmp/.hpfs-err.$$; then
  echo "online-while-armed=ok"
else
  echo "online-while-armed=failed:$(sed 's/^.*write error: //' /tmp/.hpfs-err.$$)"
fi
rm -f /tmp/.hpfs-err.$$
echo "state-while-armed=$(cat $SYSMEM/memory72/state)"
echo 0 > "$ERR" || exit 4
echo "reset=$(cat "$ERR")"
echo online > $SYSMEM/memory72/state && echo "online-after-reset=ok"
echo "state-after-reset=$(cat $SYSMEM/memory72/state)"
"""


def test_inject_through_debugfs_mount(default_machine, tmp_path):
    if not os.path.isdir("/sys/kernel/debug"):
        pytest.skip("the host has no /sys/kernel/debug")
    d, log = default_machine
    script = tmp_path / "inject.sh"
    script.write_text(DEBUGFS_SCRIPT)
    r = hpfs.ns_run(d, f'R="$R" bash {shlex.quote(str(script))}', timeout=30)
    if r.returncode == 77:
        pytest.skip(f"cannot mount debugfs in a private namespace: {r.stderr.strip()}")
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.splitlines() == [
        "debugfs=/sys/kernel/debug",
        "armed=-12",
        "online-while-armed=failed:Cannot allocate memory",
        "state-while-armed=offline",
        "reset=0",
        "online-after-reset=ok",
        "state-after-reset=online",
    ], r.stderr
    # The effects are the daemon's, seen from outside the namespace too.
    assert d.read(f"{INJECT}/MEM_GOING_ONLINE/error") == b"0\n"
    assert d.state(72) == b"online\n"
    assert [ev["action"] for ev in events_for(log, 72)] == ["online"]


# --- 6. hardware poisoning ----------------------------------------------------------------------
HWPOISON_CONFIG = {
    "nodes": [{"id": 0, "cpus": "0-1"}],
    "memory": [
        {"start": "0x0", "size": "4G", "node": 0},
        {"start": "0x100000000", "size": "1G", "node": 0, "hotplugged": True,
         "state": "offline"},
    ],
    "parameters": {"memory_failure": True},
}


def addr(block, offset=0):
    return b"0x%x\n" % (block * BS + offset)


def test_hwpoison(daemon, tmp_path):
    d, log = start(daemon, tmp_path, HWPOISON_CONFIG)
    hard, soft = d.mem("hard_offline_page"), d.mem("soft_offline_page")
    online_movable(d, 33)

    # a page inside the online hot-added block 33
    assert write_errno(hard, addr(33, 0x1000)) == len(addr(33, 0x1000))
    assert d.state(33) == b"online\n"
    assert echo(d.block(33, "state"), "offline") == (0, "")
    assert d.state(33) == b"offline\n"

    assert echo(d.block(33, "state"), "online") == (
        1, "echo: write error: Memory page has hardware error")
    for word in (b"online\n", b"online_movable\n", b"online_kernel\n"):
        assert write_errno(d.block(33, "state"), word) == -EHWPOISON, word
    assert write_errno(d.block(33, "online"), b"1\n") == -EHWPOISON
    assert d.state(33) == b"offline\n"
    assert [ev["action"] for ev in events_for(log, 33)] == ["online", "offline"]

    # block 34: present but offline; 0x200000000 (block 64): no memory at all
    absent = b"0x%x\n" % (8 * GiB)
    assert write_errno(soft, addr(34)) == err("EIO")
    assert write_errno(soft, addr(33, 0x2000)) == err("EIO")
    assert write_errno(soft, absent) == err("ENXIO")
    assert write_errno(hard, addr(34, 0x3000)) == err("ENXIO")
    assert write_errno(hard, addr(33, 0x1000)) == err("ENXIO")
    assert write_errno(hard, absent) == err("ENXIO")
    assert echo(soft, f"0x{34 * BS:x}") == (1, "echo: write error: Input/output error")
    assert echo(hard, f"0x{8 * GiB:x}") == (1, "echo: write error: No such device or address")

    # the poison stays with block 33: its neighbour onlines
    online_movable(d, 34)
    assert d.state(33) == b"offline\n"
