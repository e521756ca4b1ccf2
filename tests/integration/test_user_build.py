"""The README's first command builds (scripts/run.sh, build-release/) what users run: that build
serves the built-in machine, lsmem reads it, and once the daemon has detached it says nothing
on the terminal it was started from.

scripts/test.sh builds build-release/ exactly as scripts/run.sh does and passes its path in
$HOTPLUGFS_USER_BUILD (empty when that build failed; the failure is reported on its own).
"""

import os
import signal

import pytest

import hpfs

LSMEM = """\
RANGE                                 SIZE   STATE REMOVABLE  BLOCK
0x0000000000000000-0x00000000bfffffff   3G  online       yes   0-23
0x0000000100000000-0x000000023fffffff   5G  online       yes  32-71
0x0000000240000000-0x000000043fffffff   8G offline           72-135

Memory block size:       128M
Total online memory:       8G
Total offline memory:      8G
"""

LSMEM_ZONES = """\
RANGE                                  SIZE   STATE   BLOCK NODE          ZONES
0x0000000000000000-0x0000000007ffffff  128M  online       0    0           None
0x0000000008000000-0x00000000bfffffff  2.9G  online    1-23    0          DMA32
0x0000000100000000-0x000000013fffffff    1G  online   32-39    0         Normal
0x0000000140000000-0x000000023fffffff    4G  online   40-71    1         Normal
0x0000000240000000-0x000000033fffffff    4G offline  72-103    0 Normal/Movable
0x0000000340000000-0x000000043fffffff    4G offline 104-135    1 Normal/Movable

Memory block size:       128M
Total online memory:       8G
Total offline memory:      8G
"""


def user_build():
    build = os.environ.get("HOTPLUGFS_USER_BUILD")
    if build is None:
        build = os.path.join(hpfs.REPO, "build-release")
    elif not build:
        pytest.skip("the user build failed (reported as user-build)")
    exe = os.path.join(build, "daemon", "hotplugfsd")
    if not os.access(exe, os.X_OK):
        pytest.skip(f"{exe} is not built (scripts/run.sh --build-only builds it)")
    return exe


def test_user_build_serves_the_builtin_machine(daemon):
    d = daemon(exe=user_build(), terminal=True)
    assert hpfs.run(f"lsmem --sysroot {d.root}", shell=True).stdout == LSMEM
    out = hpfs.run(f"lsmem --sysroot {d.root} -o RANGE,SIZE,STATE,BLOCK,NODE,ZONES", shell=True)
    assert out.stdout == LSMEM_ZONES
    with open(d.block(72, "state"), "w") as f:
        f.write("online_movable")
    assert d.state(72) == b"online\n"
    assert d.read_mem("memory72/valid_zones") == b"Movable\n"


def test_detached_daemon_leaves_the_terminal_alone(daemon):
    """Nothing reaches the starting terminal, neither before the command returns (the mount
    answered, nothing went wrong) nor afterwards, while the detached daemon logs."""
    d = daemon(exe=user_build(), terminal=True, extra_args=("--log-level", "debug"))
    assert d.terminal == b"", d.terminal
    # Work that the daemon logs at debug level (uevents), then a clean stop that logs too.
    with open(d.block(80, "state"), "w") as f:
        f.write("online")
    assert d.state(80) == b"online\n"
    assert d.kill(signal.SIGTERM)
    assert hpfs.wait_exit(d.pid, d.starttime, 5.0)
    assert not hpfs.is_mounted(d.sys)


def test_foreground_daemon_logs_to_stderr(tmp_path):
    """In the foreground the terminal is the log: the 'serving' line arrives there."""
    exe = user_build()
    sysdir = tmp_path / "sys"
    sysdir.mkdir()
    proc = hpfs.subprocess.Popen([exe, "--foreground", str(sysdir)], stdin=hpfs.subprocess.DEVNULL,
                                 stdout=hpfs.subprocess.PIPE, stderr=hpfs.subprocess.PIPE)
    try:
        hpfs.wait_until(lambda: os.path.isdir(sysdir / hpfs.MEM), what="the mount")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if hpfs.is_mounted(str(sysdir)):
            hpfs.lazy_unmount(str(sysdir))
    assert proc.returncode == 0
    assert b"serving " + str(sysdir).encode() in err, err
