"""A file-descriptor store that speaks systemd's protocol (sd_notify(3), sd_listen_fds(3)), for
starting hotplugfsd as a Type=notify service with FileDescriptorStoreMax= would, and restarting
it as Restart= would.

FdStoreKeeper(directory)
    binds an AF_UNIX SOCK_DGRAM NOTIFY_SOCKET in `directory` and serves it on a thread:
    FDSTORE=1 keeps the SCM_RIGHTS descriptors of the message under FDNAME= (default "stored"),
    FDSTOREREMOVE=1 closes those of FDNAME=, READY=1 is counted; a kept descriptor that reports
    POLLHUP or POLLERR is closed and forgotten, as systemd does (FDPOLL=0 turns that off).
keeper.start(argv)
    starts argv with NOTIFY_SOCKET, and with the kept descriptors at 3, 4, ... and LISTEN_FDS,
    LISTEN_FDNAMES and LISTEN_PID (the daemon's own PID: a small exec wrapper sets it, then
    execs argv in the same process) when there are any; returns the subprocess.Popen.
keeper.close()
    stops the thread and closes every kept descriptor and the socket.

Only the Python standard library is used here.
"""

import array
import os
import select
import socket
import subprocess
import sys
import threading
import time

# Runs as: python3 -c WRAPPER NAMES FD... -- ARGV...; puts each FD at 3, 4, ... and execs ARGV.
WRAPPER = r"""
import fcntl, os, sys
sep = sys.argv.index("--")
names, fds, argv = sys.argv[1], [int(x) for x in sys.argv[2:sep]], sys.argv[sep + 1:]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]  # out of the way of 3, 4, ...
for fd in fds:
    os.close(fd)
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)                            # inheritable
    os.close(fd)
os.environ.update(LISTEN_FDS=str(len(fds)), LISTEN_FDNAMES=names, LISTEN_PID=str(os.getpid()))
os.execv(argv[0], argv)
"""


class FdStoreKeeper:
    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.lock = threading.Lock()
        self.stored = []          # [(name, fd, poll)] in the order they came
        self.ready = 0            # READY=1 messages seen
        self.messages = []        # every message's text
        self._cond = threading.Condition(self.lock)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # --- the socket --------------------------------------------------------------------------
    def _serve(self):
        while True:
            with self.lock:
                if self._stop:
                    return
                watched = [(fd, name) for name, fd, poll in self.stored if poll]
            poller = select.poll()
            poller.register(self.sock.fileno(), select.POLLIN)
            for fd, _ in watched:
                poller.register(fd, 0)  # only POLLHUP and POLLERR, which are always reported
            for fd, events in poller.poll(100):
                if fd == self.sock.fileno():
                    self._receive()
                elif events & (select.POLLHUP | select.POLLERR):
                    self._drop(lambda name, kept: kept == fd)

    def _receive(self):
        fds = array.array("i")
        data, ancdata, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(253 * fds.itemsize))
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        text = data.decode("utf-8", "replace")
        fields = dict(line.split("=", 1) for line in text.split("\n") if "=" in line)
        with self._cond:
            self.messages.append(text)
            name = fields.get("FDNAME", "stored")
            if fields.get("FDSTORE") == "1":
                poll = fields.get("FDPOLL", "1") != "0"
                self.stored += [(name, fd, poll) for fd in fds]
                fds = []
            if fields.get("FDSTOREREMOVE") == "1":
                self._drop(lambda n, kept: n == name, locked=True)
            if fields.get("READY") == "1":
                self.ready += 1
            self._cond.notify_all()
        for fd in fds:  # sent without FDSTORE=1: systemd closes them
            os.close(fd)

    def _drop(self, match, locked=False):
        if not locked:
            with self._cond:
                return self._drop(match, locked=True)
        keep = []
        for name, fd, poll in self.stored:
            if match(name, fd):
                os.close(fd)
            else:
                keep.append((name, fd, poll))
        self.stored = keep
        self._cond.notify_all()

    # --- what tests use ----------------------------------------------------------------------
    def names(self):
        with self.lock:
            return sorted(name for name, _, _ in self.stored)

    def wait_for(self, predicate, seconds=30, what="the keeper"):
        deadline = time.monotonic() + seconds
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {seconds} s waiting for {what}; "
                                         f"messages: {self.messages!r}")
                self._cond.wait(left)

    def wait_ready(self, count, seconds=30):
        self.wait_for(lambda: self.ready >= count, seconds, f"READY=1 #{count}")

    def start(self, argv, **popen_args):
        env = dict(popen_args.pop("env", os.environ), NOTIFY_SOCKET=self.path)
        for key in ("LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID"):
            env.pop(key, None)
        with self.lock:
            stored = list(self.stored)
        if not stored:
            return subprocess.Popen(argv, env=env, **popen_args)
        names = ":".join(name for name, _, _ in stored)
        fds = [fd for _, fd, _ in stored]
        wrapper = [sys.executable, "-c", WRAPPER, names, *map(str, fds), "--", *argv]
        return subprocess.Popen(wrapper, env=env, pass_fds=fds, **popen_args)

    def close(self):
        with self._cond:
            self._stop = True
        self._thread.join(timeout=5)
        self._drop(lambda name, fd: True)
        self.sock.close()
