"""A reader never waits for a writer: while `echo offline > memoryN/state` keeps migrating
(a block that never finishes), every file of the block and of its node answers a read from
another process at once, in both modes, with what the kernel shows at that moment; SIGINT to
the writer ends its write and the block is back online, as offline_pages() does on a pending
signal."""

import os
import signal
import subprocess
import time

import pytest

import hpfs

DEVICES_CONFIG = os.path.join(hpfs.REPO, "examples", "devices.json")
HANG = 36  # examples/devices.json: memory36 (node 0) never finishes offlining
DEADLINE = 2.0


def timed_read(path):
    """(exit status, bytes, seconds) of `cat path` from another process, killed at the deadline."""
    t0 = time.monotonic()
    p = subprocess.Popen(["cat", path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=hpfs.TOOL_ENV)
    try:
        out, _ = p.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None, b"", time.monotonic() - t0
    return p.returncode, out, time.monotonic() - t0


@pytest.mark.parametrize("read_before", [False, True], ids=["cold", "cached"])
@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_reads_during_a_never_ending_offline(daemon, mode, read_before):
    d = daemon(config=DEVICES_CONFIG, extra_args=("--fast",) if mode == "fast" else ())
    block = d.block(HANG)
    node_dir = d.path(f"{hpfs.NODE}/node0")
    files = [os.path.join(block, f) for f in ("state", "online", "valid_zones", "removable")]
    files += [os.path.join(node_dir, f"memory{HANG}", "state"),
              os.path.join(node_dir, "meminfo"), os.path.join(node_dir, "vmstat")]
    # Read once before, as tools do (the files' pages are in the cache in the fast mode), or
    # not: the writer's open is the first.
    if read_before:
        assert timed_read(files[0])[1] == b"online\n"
    writer = subprocess.Popen(["bash", "-c", f"echo offline > {block}/state"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=hpfs.TOOL_ENV)
    try:
        time.sleep(0.3)  # the write is in progress
        for f in files:
            rc, out, took = timed_read(f)
            assert rc == 0, f"{f}: no answer within {DEADLINE} s"
            assert took < DEADLINE
            assert out, f
        assert timed_read(files[0])[1] == b"going-offline\n"
        assert timed_read(files[1])[1] == b"1\n"
        assert timed_read(files[4])[1] == b"going-offline\n"
        assert writer.poll() is None, "the offline never finishes: the writer still waits"
        writer.send_signal(signal.SIGINT)
        writer.communicate(timeout=5)
        assert writer.returncode != 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    hpfs.wait_until(lambda: timed_read(files[0])[1] == b"online\n", seconds=5,
                    what="the block back online")
    assert timed_read(files[1])[1] == b"1\n"
