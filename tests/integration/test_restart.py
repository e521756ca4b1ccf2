"""A restart never breaks the mount: hotplugfsd keeps its FUSE connection in a file-descriptor
store (fdstore_keeper.FdStoreKeeper plays systemd's), and a daemon started with that connection
handed back serves it where it is mounted, with the same machine (--state) and the same inode
numbers, while callers of the mount only wait."""

import ctypes
import errno
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import fdstore_keeper
import hpfs

# The built-in machine: blocks 72.. are offline and can be onlined and offlined again.
TOGGLED = list(range(72, 80))
# What the daemon keeps in the store: the D-Bus socket, the connection, its INIT, the journal
# of requests in flight.
STORED = ["bus", "fuse", "fuse-inflight", "fuse-init"]


def wait_stored(keeper):
    keeper.wait_for(lambda: len(keeper.stored) == len(STORED), what="a full store")


class Service:
    """hotplugfsd --foreground under a keeper, as the systemd unit runs it."""

    def __init__(self, top, config=None, executable=None):
        self.top = top
        self.config = config
        self.executable = executable or hpfs.daemon_executable()
        self.mountpoint = os.path.join(top, "sys")
        os.mkdir(self.mountpoint)
        self.state = os.path.join(top, "state.json")
        self.events = os.path.join(top, "events.jsonl")
        self.keeper = fdstore_keeper.FdStoreKeeper(top)
        self.procs = []
        self.starts = 0

    def start(self, faults=None):
        """faults: HOTPLUGFS_TEST_THROW for this daemon (support/test_fault.h)."""
        log = open(os.path.join(self.top, f"log-{self.starts}"), "wb")
        argv = [self.executable, "--foreground", "--state", self.state,
                "--event-log", self.events, "--runtime-dir", self.top, self.mountpoint]
        if self.config:
            argv[1:1] = ["--config", self.config]
        env = dict(hpfs.TOOL_ENV)
        if faults:
            env["HOTPLUGFS_TEST_THROW"] = faults
        proc = self.keeper.start(argv, env=env, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log)
        log.close()
        self.procs.append(proc)
        self.starts += 1
        self.keeper.wait_ready(self.starts)
        return proc

    def log(self, n):
        with open(os.path.join(self.top, f"log-{n}"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def path(self, rel):
        return os.path.join(self.mountpoint, rel)

    def kill(self):
        proc = self.procs[-1]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def reload(self):
        """A planned restart (SIGHUP, as `systemctl reload` sends): the same process serves on
        once it said READY=1 again."""
        ready = self.keeper.ready
        self.procs[-1].send_signal(signal.SIGHUP)
        self.keeper.wait_ready(ready + 1)
        assert self.procs[-1].poll() is None, self.log(len(self.procs) - 1)

    def close(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self.keeper.close()  # the last copy of a connection nobody serves: it is aborted
        for _ in range(10):
            if not hpfs.is_mounted(self.mountpoint):
                break
            hpfs.lazy_unmount(self.mountpoint)
        shutil.rmtree(self.top, ignore_errors=True)


@pytest.fixture
def service():
    s = Service(tempfile.mkdtemp(prefix=hpfs.TEMP_PREFIX))
    try:
        yield s
    finally:
        s.close()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_the_connection_is_kept_under_fuse_and_fuse_init(service):
    service.start()
    wait_stored(service.keeper)
    assert service.keeper.names() == STORED
    ready = [m for m in service.keeper.messages if "READY=1" in m.split("\n")]
    assert ready == [service.keeper.messages[0]], service.keeper.messages
    # An orderly stop (the unit's ExecStop unmounts) takes them out of the store again.
    stop = subprocess.run(["fusermount3", "-u", "-z", service.mountpoint], capture_output=True,
                          text=True, timeout=30)
    assert stop.returncode == 0, stop.stderr
    assert service.procs[-1].wait(timeout=30) == 0, service.log(0)
    service.keeper.wait_for(lambda: not service.keeper.stored, what="an empty store")


def test_a_restart_after_sigkill_serves_the_same_mount(service):
    service.start()
    wait_stored(service.keeper)
    rel = f"{hpfs.MEM}/memory72/state"
    assert hpfs.write_errno(service.path(rel), b"online") == 6
    inodes = {p: os.stat(service.path(p)).st_ino for p in (hpfs.MEM, rel)}
    mount_id = os.stat(service.mountpoint).st_dev
    service.kill()
    assert hpfs.is_mounted(service.mountpoint)
    service.start()
    assert "took over" in service.log(1), service.log(1)
    assert os.stat(service.mountpoint).st_dev == mount_id
    assert hpfs.mount_count(service.mountpoint) == 1
    assert read(service.path(rel)) == b"online\n"
    assert {p: os.stat(service.path(p)).st_ino for p in inodes} == inodes
    # Files first looked up by the new daemon have the numbers a fresh daemon gives them.
    fresh = service.path(f"{hpfs.MEM}/memory73/phys_index")
    assert read(fresh) == b"%08x\n" % 73
    assert hpfs.write_errno(service.path(f"{hpfs.MEM}/memory73/state"), b"online") == 6
    # The connection is still kept (by the store, not re-sent): a second kill is survived too.
    assert service.keeper.names() == STORED
    service.kill()
    service.start()
    assert read(service.path(f"{hpfs.MEM}/memory73/state")) == b"online\n"


class Recorder:
    """Runs `op` in a loop on a thread; keeps (start, end, errno or None, what) of each call."""

    def __init__(self, name, op):
        self.name, self.op = name, op
        self.calls = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                what = self.op(i)
                err = None
            except OSError as exc:
                what, err = None, exc.errno
            self.calls.append((start, time.monotonic(), err, what))
            i += 1


def test_callers_never_see_the_daemon_die(service):
    """4 readers and a writer loop over the mount; the daemon is SIGKILLed and started again
    from the store. Nobody sees ENOTCONN or waits more than 2 s past the restart; a call in
    flight at the kill may fail EIO or EINTR; the machine is what the successful writes made
    it, and SEQNUMs go on without a repeat."""
    service.start()
    wait_stored(service.keeper)
    rng = random.Random(16)
    readable = [f"{hpfs.MEM}/memory{n}/{attr}" for n in TOGGLED + [0, 40, 100]
                for attr in ("state", "online", "valid_zones", "phys_index")]
    readable += [f"{hpfs.MEM}/block_size_bytes", f"{hpfs.NODE}/node0/meminfo"]

    def reader(i):
        if i % 5 == 0:
            return len(os.listdir(service.path(hpfs.MEM)))
        return read(service.path(rng.choice(readable)))

    last_ok = {}  # block -> the state its last successful write asked for

    def writer(i):
        # The other state than the block has: a write that failed in the restart may or may
        # not have taken effect.
        block = TOGGLED[i % len(TOGGLED)]
        state = read(service.path(f"{hpfs.MEM}/memory{block}/state"))
        target = b"offline" if state == b"online\n" else b"online"
        fd = os.open(service.path(f"{hpfs.MEM}/memory{block}/state"), os.O_WRONLY)
        try:
            os.write(fd, target)
        finally:
            os.close(fd)
        last_ok[block] = target
        return (block, target)

    loops = [Recorder(f"reader{k}", reader) for k in range(4)] + [Recorder("writer", writer)]
    for loop in loops:
        loop.thread.start()
    try:
        time.sleep(0.8)
        service.kill()
        killed = time.monotonic()
        seq_at_kill = hpfs.read_events(service.events)[-1]["seqnum"]
        time.sleep(0.5)  # the mount only waits meanwhile
        restarting = time.monotonic()
        service.start()
        ready = time.monotonic()
        time.sleep(3.0)  # long enough for many calls on a loaded machine
    finally:
        for loop in loops:
            loop.stop.set()
        for loop in loops:
            loop.thread.join(timeout=10)
    assert not [loop.name for loop in loops if loop.thread.is_alive()], "a caller hangs"
    assert "took over" in service.log(1), service.log(1)

    for loop in loops:
        after = [c for c in loop.calls if c[0] >= ready]
        assert len(after) > 10, f"{loop.name} made only {len(after)} calls after the restart"
        for start, end, err, _ in loop.calls:
            name = errno.errorcode.get(err, err) if err else None
            assert err not in (errno.ENOTCONN, errno.ECONNABORTED), f"{loop.name}: {name}"
            # Waiting through the restart is fine; more than 2 s past it is a hang.
            assert end - max(start, ready) < 2.0, f"{loop.name} waited {end - start:.1f} s"
            if err is not None:
                # Only a call that was in flight when the daemon died may fail.
                assert err in (errno.EIO, errno.EINTR), \
                    f"{loop.name}: {name} at {start - killed:+.3f}..{end - killed:+.3f} s " \
                    f"from the kill, restart at {ready - killed:+.3f} s"
                assert start < killed, f"{loop.name}: {name} after the kill"
        failed = [c for c in loop.calls if c[2] is not None]
        assert len(failed) <= 1, f"{loop.name}: {failed}"

    # The kill came while callers were in the mount: they waited through the restart. (The
    # new daemon answers them before it reports READY=1, so they may end before `ready`.)
    waited = [c for loop in loops for c in loop.calls if c[0] < killed and c[1] > restarting]
    assert waited, "no call was waiting across the restart"

    writes = [c for c in loops[-1].calls if c[2] is None]
    assert writes and writes[-1][0] > ready
    assert service.keeper.names() == STORED
    for block, target in last_ok.items():
        assert read(service.path(f"{hpfs.MEM}/memory{block}/state")) == target + b"\n", block

    # SEQNUMs: no repeat; the only gap allowed is a write applied by the dead daemon that
    # failed its caller (its event may not have reached the log before the kill).
    seqnums = [e["seqnum"] for e in hpfs.read_events(service.events)]
    assert len(seqnums) == len(set(seqnums)) and seqnums == sorted(seqnums)
    gaps = sum(b - a - 1 for a, b in zip(seqnums, seqnums[1:]))
    assert gaps <= len([c for c in loops[-1].calls if c[2] is not None]) * 2, seqnums
    assert max(seqnums) > seq_at_kill
    with open(service.state) as f:
        assert json.load(f)["seqnum"] == max(seqnums)


def test_sigkill_during_a_slow_offline_answers_the_writer():
    """An offline that never finishes (memory36 of examples/devices.json) is pending when the
    daemon is killed: its writer gets an answer once the next daemon serves, never a hang, and
    the block is as the state file says: online, since the offline never completed."""
    s = Service(tempfile.mkdtemp(prefix=hpfs.TEMP_PREFIX),
                config=os.path.join(hpfs.REPO, "examples", "devices.json"))
    try:
        s.start()
        wait_stored(s.keeper)
        state = s.path(f"{hpfs.MEM}/memory36/state")
        assert read(state) == b"online\n"
        answer = {}

        def offline():
            try:
                answer["result"] = hpfs.write_errno(state, b"offline")
            finally:
                answer["at"] = time.monotonic()

        writer = threading.Thread(target=offline, daemon=True)
        writer.start()
        hpfs.wait_until(lambda: read(state) == b"going-offline\n", what="the offline pending")
        s.kill()
        time.sleep(0.5)
        assert writer.is_alive()  # the kernel holds the request for the next daemon
        s.start()
        ready = time.monotonic()
        writer.join(timeout=10)
        assert not writer.is_alive(), "the writer of a pending offline hangs across a restart"
        assert answer["at"] - ready < 2.0, answer
        # The dead daemon may have read the write: a resent write fails rather than run twice.
        assert answer["result"] in (-errno.EIO, -errno.EINTR), answer
        assert read(state) == b"online\n"
        with open(s.state) as f:
            saved = json.load(f)
        assert not any(r["state"] == "going-offline" for r in saved["blocks"])
    finally:
        s.close()


READER = r"""
import errno, json, os, sys, time
path, seconds = sys.argv[1], float(sys.argv[2])
end, reads, errors = time.monotonic() + seconds, 0, []
while time.monotonic() < end:
    try:
        with open(path, "rb") as f:
            f.read()
        reads += 1
    except OSError as exc:
        errors.append(errno.errorcode.get(exc.errno, str(exc.errno)))
    time.sleep(0.002)
print(json.dumps({"reads": reads, "errors": errors}))
"""


def test_a_container_bind_mount_survives_the_restart(service, tmp_path):
    """A container bind-mounts the tree into its own mount namespace, as the README's recipe does;
    the daemon is killed and started again from the store while the container reads: the bind
    mount keeps working, without ENOTCONN."""
    service.start()
    wait_stored(service.keeper)
    target = tmp_path / "memory"
    target.mkdir()
    script = tmp_path / "reader.py"
    script.write_text(READER)
    container = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount --bind "$1" "$2" && exec /usr/bin/python3 "$3" "$2/memory72/state" 4',
         "sh", service.path(hpfs.MEM), str(target), str(script)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        service.kill()
        time.sleep(0.5)
        service.start()
        out, err = container.communicate(timeout=30)
    finally:
        if container.poll() is None:
            container.kill()
            container.wait(timeout=10)
    assert container.returncode == 0, err
    result = json.loads(out)
    assert "ENOTCONN" not in result["errors"] and "ECONNABORTED" not in result["errors"], result
    assert len(result["errors"]) <= 1, result  # at most the read in flight at the kill
    assert result["reads"] > 100, result
    assert "took over" in service.log(1), service.log(1)


# --- planned restarts -------------------------------------------------------------------------

class Load:
    """4 readers and a writer looping over the mount (Recorder), and what the writes made."""

    def __init__(self, service):
        self.service = service
        self.rng = random.Random(16)
        self.readable = [f"{hpfs.MEM}/memory{n}/{attr}" for n in TOGGLED + [0, 40, 100]
                         for attr in ("state", "online", "valid_zones", "phys_index")]
        self.readable += [f"{hpfs.MEM}/block_size_bytes", f"{hpfs.NODE}/node0/meminfo"]
        self.last_ok = {}  # block -> the state its last successful write asked for
        self.loops = [Recorder(f"reader{k}", self.reader) for k in range(4)]
        self.loops.append(Recorder("writer", self.writer))

    def reader(self, i):
        if i % 5 == 0:
            return len(os.listdir(self.service.path(hpfs.MEM)))
        return read(self.service.path(self.rng.choice(self.readable)))

    def writer(self, i):
        block = TOGGLED[i % len(TOGGLED)]
        path = self.service.path(f"{hpfs.MEM}/memory{block}/state")
        target = b"offline" if read(path) == b"online\n" else b"online"
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, target)
        finally:
            os.close(fd)
        self.last_ok[block] = target
        return (block, target)

    def __enter__(self):
        for loop in self.loops:
            loop.thread.start()
        return self

    def __exit__(self, *exc):
        for loop in self.loops:
            loop.stop.set()
        for loop in self.loops:
            loop.thread.join(timeout=10)
        assert not [loop.name for loop in self.loops if loop.thread.is_alive()], "a caller hangs"


class Connector:
    """Connects to the private D-Bus socket in a loop; keeps the errnos of refused connects."""

    def __init__(self, path):
        self.path, self.connects, self.errors = path, 0, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self.path)
                self.connects += 1
            except OSError as exc:
                self.errors.append(errno.errorcode.get(exc.errno, exc.errno))
            finally:
                sock.close()
            time.sleep(0.002)


def assert_seqnums_continue(service):
    """Every SEQNUM once, none missing, and the state file's the last of them."""
    seqnums = [e["seqnum"] for e in hpfs.read_events(service.events)]
    assert seqnums, "no event"
    assert seqnums == list(range(seqnums[0], seqnums[0] + len(seqnums))), seqnums
    with open(service.state) as f:
        assert json.load(f)["seqnum"] == seqnums[-1]
    return seqnums


def test_a_planned_restart_under_load_fails_no_request(service):
    """SIGHUP while 4 readers and a writer loop over the mount and a client connects to the
    D-Bus socket: the same process executes the daemon again and serves on. No call fails,
    none waits long, the machine is what the writes made it, SEQNUMs go on without a gap or a
    repeat, and a file opened before reads the rest of its own snapshot afterwards."""
    proc = service.start()
    wait_stored(service.keeper)
    state = service.path(f"{hpfs.MEM}/memory100/state")  # not one the writer toggles
    held = os.open(state, os.O_RDONLY)
    connector = Connector(os.path.join(service.top, "bus"))
    try:
        assert os.read(held, 3) == b"off"  # its snapshot: "offline\n"
        assert hpfs.write_errno(state, b"online") == 6
        connector.thread.start()
        with Load(service) as load:
            time.sleep(0.8)
            asked = time.monotonic()
            service.reload()
            ready = time.monotonic()
            time.sleep(2.0)
        connector.stop.set()
        connector.thread.join(timeout=10)
        # The rest of the bytes of its open, not of the file as it is now ("online\n").
        assert os.pread(held, 100, 3) == b"line\n"
        assert os.pread(held, 100, 0) == b"online\n"  # read from the start: a new snapshot
    finally:
        os.close(held)
    log = service.log(0)
    assert "restarting in place" in log and "took over" in log, log
    assert proc.poll() is None and len(service.procs) == 1
    assert service.keeper.ready == 2, service.keeper.messages
    assert any("RELOADING=1" in m.split("\n") for m in service.keeper.messages)
    # Nothing was stored twice: the keeper's copies serve on.
    assert service.keeper.names() == STORED

    for loop in load.loops:
        failed = [c for c in loop.calls if c[2] is not None]
        assert not failed, f"{loop.name}: {[(errno.errorcode.get(c[2]), c[0] - asked) for c in failed]}"
        assert len([c for c in loop.calls if c[0] >= ready]) > 10, loop.name
        assert len([c for c in loop.calls if c[0] < asked]) > 10, loop.name
        assert max(end - start for start, end, _, _ in loop.calls) < 2.0, loop.name
    assert not connector.errors, connector.errors
    assert connector.connects > 10
    for block, target in load.last_ok.items():
        assert read(service.path(f"{hpfs.MEM}/memory{block}/state")) == target + b"\n", block
    seqnums = assert_seqnums_continue(service)
    assert len(seqnums) > len([c for c in load.loops[-1].calls if c[2] is None])


def test_a_planned_restart_keeps_a_container_bind_mount_reading(service, tmp_path):
    """The container of the SIGKILL case, through a planned restart: not one read fails."""
    service.start()
    target = tmp_path / "memory"
    target.mkdir()
    script = tmp_path / "reader.py"
    script.write_text(READER)
    container = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount --bind "$1" "$2" && exec /usr/bin/python3 "$3" "$2/memory72/state" 3',
         "sh", service.path(hpfs.MEM), str(target), str(script)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        service.reload()
        out, err = container.communicate(timeout=30)
    finally:
        if container.poll() is None:
            container.kill()
            container.wait(timeout=10)
    assert container.returncode == 0, err
    result = json.loads(out)
    assert result["errors"] == [] and result["reads"] > 100, result
    assert "took over" in service.log(0), service.log(0)


def test_a_planned_restart_executes_the_upgraded_binary(tmp_path):
    """The daemon runs from a file that an upgrade replaces (a new inode renamed into place):
    SIGHUP makes the same process run the new file, which serves the same mount."""
    binary = tmp_path / "hotplugfsd"
    shutil.copy2(hpfs.daemon_executable(), binary)
    s = Service(tempfile.mkdtemp(prefix=hpfs.TEMP_PREFIX), executable=str(binary))
    try:
        proc = s.start()
        rel = f"{hpfs.MEM}/memory72/state"
        assert hpfs.write_errno(s.path(rel), b"online") == 6
        old_inode = os.stat(binary).st_ino
        shutil.copy2(hpfs.daemon_executable(), tmp_path / "hotplugfsd.new")
        os.rename(tmp_path / "hotplugfsd.new", binary)  # as dpkg installs a file
        assert os.stat(binary).st_ino != old_inode
        assert os.readlink(f"/proc/{proc.pid}/exe").endswith(" (deleted)")
        s.reload()
        assert os.readlink(f"/proc/{proc.pid}/exe") == str(binary)
        assert os.stat(f"/proc/{proc.pid}/exe").st_ino == os.stat(binary).st_ino
        assert read(s.path(rel)) == b"online\n"
        assert hpfs.write_errno(s.path(f"{hpfs.MEM}/memory73/state"), b"online") == 6
        assert hpfs.mount_count(s.mountpoint) == 1
        assert_seqnums_continue(s)
    finally:
        s.close()


def test_a_failed_planned_restart_leaves_the_old_daemon_serving(tmp_path):
    """The file to execute is no program any more: the daemon says so, and serves on."""
    binary = tmp_path / "hotplugfsd"
    shutil.copy2(hpfs.daemon_executable(), binary)
    s = Service(tempfile.mkdtemp(prefix=hpfs.TEMP_PREFIX), executable=str(binary))
    try:
        proc = s.start()
        exe = os.readlink(f"/proc/{proc.pid}/exe")
        (tmp_path / "broken").write_text("not a program\n")
        os.chmod(tmp_path / "broken", 0o755)
        os.rename(tmp_path / "broken", binary)
        s.reload()
        assert "cannot restart in place" in s.log(0), s.log(0)
        assert os.readlink(f"/proc/{proc.pid}/exe") == exe + " (deleted)"  # the old program
        assert hpfs.write_errno(s.path(f"{hpfs.MEM}/memory72/state"), b"online") == 6
        assert read(s.path(f"{hpfs.MEM}/memory72/state")) == b"online\n"
        # A second try, with the program back, restarts.
        shutil.copy2(hpfs.daemon_executable(), tmp_path / "hotplugfsd.new")
        os.rename(tmp_path / "hotplugfsd.new", binary)
        s.reload()
        assert "took over" in s.log(0), s.log(0)
        assert read(s.path(f"{hpfs.MEM}/memory72/state")) == b"online\n"
        assert_seqnums_continue(s)
    finally:
        s.close()


def test_a_planned_restart_ends_an_offline_that_never_finishes():
    """An offline that never finishes (memory36 of examples/devices.json) is waiting when the
    restart is asked for: after the daemon's patience (5 s) its writer is answered as a signal
    would answer it (EINTR, the block online again), and the restart goes on. (Python retries a
    write that fails EINTR, so the write here is libc's own.)"""
    s = Service(tempfile.mkdtemp(prefix=hpfs.TEMP_PREFIX),
                config=os.path.join(hpfs.REPO, "examples", "devices.json"))
    try:
        proc = s.start()
        state = s.path(f"{hpfs.MEM}/memory36/state")
        answer = {}

        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(state, os.O_WRONLY)

        def offline():
            n = libc.write(fd, b"offline", 7)
            answer["result"] = n if n >= 0 else -ctypes.get_errno()

        writer = threading.Thread(target=offline, daemon=True)
        writer.start()
        hpfs.wait_until(lambda: read(state) == b"going-offline\n", what="the offline pending")
        asked = time.monotonic()
        s.reload()
        took = time.monotonic() - asked
        writer.join(timeout=10)
        assert not writer.is_alive()
        os.close(fd)
        assert answer["result"] == -errno.EINTR, answer
        assert 4.0 < took < 10.0, took
        assert proc.poll() is None and "took over" in s.log(0), s.log(0)
        assert read(state) == b"online\n"
        with open(s.state) as f:
            assert not any(r["state"] == "going-offline" for r in json.load(f)["blocks"])
    finally:
        s.close()
