"""The daemon as the shipped systemd unit runs it, with the real pieces of that protocol but no
systemd: --foreground with a NOTIFY_SOCKET of our own (Type=notify), READY=1 only once the
mount answers, and the unit's ExecStop (fusermount3 -u -z) ending the daemon by itself with
exit status 0."""

import os
import shutil
import socket
import subprocess
import tempfile

import hpfs


def test_ready_after_the_mount_answers_and_execstop_ends_it():
    top = tempfile.mkdtemp(prefix="hotplugfs-service-")
    mountpoint = os.path.join(top, "sys")
    os.mkdir(mountpoint)
    notify_path = os.path.join(top, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    sock.settimeout(30)
    env = dict(hpfs.TOOL_ENV, NOTIFY_SOCKET=notify_path)
    proc = subprocess.Popen([hpfs.daemon_executable(), "--foreground", "--bus", "none",
                             "--runtime-dir", top, "--log-file", os.path.join(top, "log"),
                             mountpoint], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        message = sock.recv(4096)
        assert b"READY=1" in message.split(b"\n"), message
        # Ready means serving: the tree answers at once, without waiting.
        assert hpfs.is_mounted(mountpoint)
        with open(os.path.join(mountpoint, "devices/system/memory/block_size_bytes"), "rb") as f:
            assert f.read() == b"8000000\n"
        assert proc.poll() is None, "a --foreground daemon stays in the foreground"
        # ExecStop=-/usr/bin/fusermount3 -u -z /run/hotplugfs/sys
        stop = subprocess.run(["fusermount3", "-u", "-z", mountpoint], capture_output=True,
                              text=True, timeout=30)
        assert stop.returncode == 0, stop.stderr
        assert proc.wait(timeout=30) == 0, proc.stderr.read().decode(errors="replace")
        assert not hpfs.is_mounted(mountpoint)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if hpfs.is_mounted(mountpoint):
            hpfs.lazy_unmount(mountpoint)
        proc.stderr.close()
        sock.close()
        shutil.rmtree(top, ignore_errors=True)
