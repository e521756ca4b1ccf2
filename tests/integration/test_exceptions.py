"""An exception inside a request handler ends that request, not the daemon: a FUSE request gets
EIO, a D-Bus call org.hotplugfs.Error.EIO, the daemon logs it and every other request is served
as before. The exceptions come from the daemon's test-only fault hook (HOTPLUGFS_TEST_THROW), in
a FUSE LOOKUP, a D-Bus method answered on the bus thread (GetState) and one run by the method
worker (SetParameter, a write of online_policy)."""

import errno
import json
import os
import subprocess

import pytest

import hpfs

FAULTS = "lookup:boom,GetState,write:module/memory_hotplug/parameters/online_policy"


@pytest.fixture
def d(daemon, monkeypatch):
    monkeypatch.setenv("HOTPLUGFS_TEST_THROW", FAULTS)
    return daemon(extra_args=("--log-file", "/dev/null"))


def ctl(d, *args):
    exe = os.path.join(os.path.dirname(hpfs.daemon_executable()), "hotplugctl")
    return subprocess.run([exe, "--root", d.root, "--json", *args], capture_output=True, text=True,
                          timeout=60, env=hpfs.TOOL_ENV)


def test_fuse_handler_exception_is_eio(d):
    for _ in range(3):
        with pytest.raises(OSError) as exc:
            os.stat(d.mem("boom"))
        assert exc.value.errno == errno.EIO
        # The mount still answers everything else, lookups included.
        assert d.read_mem("memory5/state") == b"online\n"
        assert os.path.exists(d.mem("memory6/phys_index"))
    assert hpfs.write_errno(d.block(72, "state"), b"online") == 6
    assert d.state(72) == b"online\n"
    assert d.running()


def test_dbus_handler_exceptions_are_eio(d):
    r = ctl(d, "status")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "org.hotplugfs.Error.EIO" in r.stdout + r.stderr
    r = ctl(d, "set", "online_policy", "auto-movable")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "org.hotplugfs.Error.EIO" in r.stdout + r.stderr
    assert d.read("module/memory_hotplug/parameters/online_policy") == b"contig-zones\n"
    # Other calls, on the bus thread and through the worker, still work.
    r = ctl(d, "online", "72", "movable")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state(72) == b"online\n"
    r = ctl(d, "set", "auto_movable_ratio", "250")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.read("module/memory_hotplug/parameters/auto_movable_ratio") == b"250\n"
    assert d.running()
