"""Fixtures for the hotplugfsd integration tests (run as root).

daemon(config=None, extra_args=(), root=None)
    starts hotplugfsd (path from $HOTPLUGFSD, default build/daemon/hotplugfsd) on a fresh
    temporary ROOT/sys, detached, with --pid-file; returns a hpfs.Daemon. Teardown always sends
    SIGTERM to the PID from the pid file, waits up to 5 s, lazily unmounts ROOT/sys if it is still
    mounted and removes ROOT. Pass root= to start on an existing ROOT again.
module_daemon
    the same factory, with daemons living for the whole test module.
ns_run(daemon, command)
    runs a shell command in a private mount namespace with the emulated tree bound over the
    host's /sys/devices/system/{memory,node} (see hpfs.ns_run).
"""

import os
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hpfs  # noqa: E402

# A test that takes longer than this has most likely hung on the FUSE mount: the watchdog then
# kills the daemons (by PID) so the blocked calls fail and the run goes on.
TEST_TIMEOUT = float(os.environ.get("HOTPLUGFS_TEST_TIMEOUT", "240"))


def pytest_configure(config):
    if os.geteuid() != 0:
        raise pytest.UsageError("the integration tests need root (FUSE mounts, unshare -m)")


@pytest.fixture
def daemon():
    pool = hpfs.DaemonPool()
    try:
        yield pool.start
    finally:
        pool.cleanup()


@pytest.fixture(scope="module")
def module_daemon():
    pool = hpfs.DaemonPool()
    try:
        yield pool.start
    finally:
        pool.cleanup()


@pytest.fixture
def ns_run():
    return hpfs.ns_run


@pytest.fixture(autouse=True)
def _watchdog(request):
    timer = threading.Timer(TEST_TIMEOUT, hpfs.kill_all_live,
                            args=(f"{request.node.nodeid} exceeded {TEST_TIMEOUT:.0f} s",))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@pytest.fixture
def reference_config():
    if not os.path.exists(hpfs.REFERENCE_CONFIG):
        pytest.fail(f"missing {hpfs.REFERENCE_CONFIG}")
    return hpfs.REFERENCE_CONFIG
