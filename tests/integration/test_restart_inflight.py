"""Requests the dead daemon had read and not answered, on a kernel that can resend them
(FUSE_NOTIFY_RESEND, Linux 6.9+) and on one that cannot, which the daemon's test switch
"no-resend" plays on this kernel: the next daemon then finds them in the journal it keeps in the
store ("fuse-inflight") and fails them EIO. Either way no caller waits more than 2 s past the
restart."""

import errno
import json
import os
import re
import tempfile
import threading
import time

import pytest

import hpfs
import test_restart

DEVICES = os.path.join(hpfs.REPO, "examples", "devices.json")


@pytest.fixture
def devices_service():
    s = test_restart.Service(tempfile.mkdtemp(prefix=hpfs.TEMP_PREFIX), config=DEVICES)
    try:
        yield s
    finally:
        s.close()


class Caller:
    """Runs fn() on a thread; keeps its result (or -errno) and when it returned."""

    def __init__(self, fn):
        self.result = None
        self.at = None

        def run():
            try:
                self.result = fn()
            except OSError as exc:
                self.result = -exc.errno
            finally:
                self.at = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def saved_state(service, block):
    with open(service.state) as f:
        saved = json.load(f)
    return next(r["state"] for r in saved["blocks"]
                if r["first"] <= block < r["first"] + r["count"])


def wait_answered(callers, ready):
    for c in callers:
        c.thread.join(timeout=10)
    assert not [c for c in callers if c.thread.is_alive()], "a caller hangs across the restart"
    late = [c.at - ready for c in callers if c.at - ready >= 2.0]
    assert not late, f"answered {late} s after the restart"


def test_without_resend_pending_offlines_fail_eio(devices_service):
    s = devices_service
    s.start()
    test_restart.wait_stored(s.keeper)
    slow, never = (s.path(f"{hpfs.MEM}/memory{n}/state") for n in (35, 36))  # 2 s, never
    assert read_file(slow) == read_file(never) == b"online\n"
    # The offline that never finishes first; the other one waits behind it inside the daemon.
    writers = [Caller(lambda: hpfs.write_errno(never, b"offline"))]
    hpfs.wait_until(lambda: read_file(never) == b"going-offline\n", what="the offline pending")
    writers.append(Caller(lambda: hpfs.write_errno(slow, b"offline")))
    time.sleep(0.3)
    s.kill()
    time.sleep(0.5)
    assert all(w.thread.is_alive() for w in writers)
    s.start(faults="no-resend")
    ready = time.monotonic()
    wait_answered(writers, ready)
    assert [w.result for w in writers] == [-errno.EIO, -errno.EIO]
    assert "this kernel cannot resend" in s.log(1) and "2 request(s)" in s.log(1), s.log(1)
    # What the dead daemon persisted, which is what the mount shows: neither offline finished.
    for n, path in ((35, slow), (36, never)):
        assert saved_state(s, n) == "online"
        assert read_file(path) == b"online\n"
    # Served on: the journal keeps working for the next restart.
    assert hpfs.write_errno(slow, b"offline") == 7
    assert read_file(slow) == b"offline\n"
    assert s.keeper.names() == test_restart.STORED


@pytest.mark.parametrize("resend", [True, False], ids=["resend", "no-resend"])
def test_reads_in_flight_at_a_kill_are_answered(resend):
    s = test_restart.Service(tempfile.mkdtemp(prefix=hpfs.TEMP_PREFIX))
    try:
        s.start(faults="stall:read")  # every READ waits inside the daemon until it dies
        test_restart.wait_stored(s.keeper)
        paths = [s.path(f"{hpfs.MEM}/memory{n}/{attr}")
                 for n, attr in ((0, "state"), (40, "phys_index"), (72, "online"))]
        readers = [Caller(lambda p=p: read_file(p)) for p in paths]
        time.sleep(0.5)
        assert all(r.thread.is_alive() for r in readers), "a read was answered while stalled"
        s.kill()
        s.start(faults=None if resend else "no-resend")
        ready = time.monotonic()
        wait_answered(readers, ready)
        expected = [b"online\n", b"%08x\n" % 40, b"0\n"]
        results = [r.result for r in readers]
        if resend:  # the kernel sent them again: answered as if nothing happened
            assert results == expected
            assert "the kernel resends" in s.log(1), s.log(1)
        else:
            # The files that can change are read past the page cache: their READ fails. A
            # cached file's read was the kernel's readahead, which it tries again once it fails.
            assert results[0] == results[2] == -errno.EIO, results
            assert results[1] in (-errno.EIO, expected[1]), results
            failed = re.search(r"(\d+) request\(s\) left unanswered failed EIO", s.log(1))
            assert failed and int(failed.group(1)) == 3, s.log(1)
        assert read_file(paths[0]) == b"online\n"  # the mount serves on
    finally:
        s.close()
