"""Daemon lifecycle: a SIGKILLed daemon leaves a dead mount (ENOTCONN) that the next start clears;
SIGTERM and SIGINT unmount cleanly."""

import os
import signal
import time

import pytest

import hpfs


def poll_stat_command(path, seconds):
    """Runs `stat PATH` until it fails (the killed daemon's threads may still be exiting)."""
    deadline = time.monotonic() + seconds
    while True:
        r = hpfs.run(["stat", path])
        if r.returncode != 0 or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def test_restart_over_stale_mount(daemon):
    first = daemon()
    assert first.kill(signal.SIGKILL)
    assert hpfs.wait_exit(first.pid, first.starttime, 5.0), "SIGKILLed daemon did not exit"
    first.stopped = True  # nothing left to signal
    # `stat` (coreutils: statx asking for the birth time, which FUSE never caches) must reach
    # the dead connection. A plain stat() may be answered from the attribute cache instead.
    r = poll_stat_command(first.sys, 5.0)
    # A request in flight when the daemon died fails ECONNABORTED; later ones ENOTCONN.
    assert r.returncode == 1, r.stderr
    assert r.stderr in (
        f"stat: cannot statx '{first.sys}': Transport endpoint is not connected\n",
        f"stat: cannot statx '{first.sys}': Software caused connection abort\n"), r.stderr
    assert hpfs.is_mounted(first.sys)

    second = daemon(root=first.root)
    assert second.pid != first.pid
    assert second.running()
    assert second.read_mem("block_size_bytes") == b"8000000\n"
    assert second.block_ids() == hpfs.DefaultMachine.blocks
    assert hpfs.mount_count(second.sys) == 1, "the stale mount was not cleared"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_unmounts_cleanly(daemon, sig):
    d = daemon()
    assert hpfs.is_mounted(d.sys)
    assert d.kill(sig)
    assert hpfs.wait_exit(d.pid, d.starttime, 5.0), f"daemon still running 5 s after {sig.name}"
    d.stopped = True
    assert not hpfs.is_mounted(d.sys), f"{d.sys} still mounted after {sig.name}"
    assert os.listdir(d.sys) == []


def test_pid_file_names_the_daemon(daemon):
    d = daemon()
    with open(f"/proc/{d.pid}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    assert os.path.basename(argv[0].decode()).startswith("hotplugfsd"), argv
    assert d.sys.encode() in argv
