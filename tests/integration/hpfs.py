"""Helpers shared by the integration tests: starting and stopping hotplugfsd, reading the tree,
capturing errno values, and running commands in a private mount namespace.

Only the Python standard library is used here.
"""

import contextlib
import errno
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE_CONFIG = os.path.join(REPO, "examples", "kernel-6.18-vm.json")

MEM = "devices/system/memory"
NODE = "devices/system/node"
BUS = "bus/memory"
PARAMS = "module/memory_hotplug/parameters"
DEBUG = "kernel/debug"
INJECT = "kernel/debug/notifier-error-inject/memory/actions"   # .../MEM_GOING_ONLINE/error
DEVICES = "kernel/debug/hotplugfs/devices"                     # .../<name>/plugged

BLOCK_SIZE = 128 << 20
TEMP_PREFIX = "hotplugfs-it-"

# Environment for the command-line tools: untranslated messages, '.' as decimal point.
TOOL_ENV = dict(os.environ, LC_ALL="C", LANG="C")
TOOL_ENV.pop("COLUMNS", None)


# --- the built-in default machine (no --config) -------------------------------------------------
class DefaultMachine:
    blocks = list(range(0, 24)) + list(range(32, 136))
    online = set(range(0, 24)) | set(range(32, 72))
    offline = set(range(72, 136))
    node0 = set(range(0, 24)) | set(range(32, 40)) | set(range(72, 104))
    node1 = set(range(40, 72)) | set(range(104, 136))

    @classmethod
    def node_of(cls, block):
        return 0 if block in cls.node0 else 1


# --- the reference machine (examples/kernel-6.18-vm.json) ---------------------------------------
class ReferenceMachine:
    blocks = list(range(0, 24)) + list(range(32, 200))


def daemon_executable():
    path = os.environ.get("HOTPLUGFSD", "build/daemon/hotplugfsd")
    if not os.path.isabs(path):
        here = os.path.abspath(path)
        path = here if os.path.exists(here) else os.path.join(REPO, path)
    return path


def stress_executable():
    """bench/stress.cpp's tool: $HOTPLUGFS_STRESS, else build-test/ or build/ (the first built)."""
    path = os.environ.get("HOTPLUGFS_STRESS")
    if path:
        if not os.path.isabs(path):
            here = os.path.abspath(path)
            path = here if os.path.exists(here) else os.path.join(REPO, path)
        return path
    for rel in ("build-test/bench/hotplugfs-stress", "build/bench/hotplugfs-stress"):
        path = os.path.join(REPO, rel)
        if os.path.exists(path):
            return path
    return os.path.join(REPO, "build/bench/hotplugfs-stress")


# --- processes -----------------------------------------------------------------------------------
def proc_stat(pid):
    """Returns (state letter, start time) of a process, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); field 22 (starttime) is rest[19].
    return rest[0], int(rest[19])


def process_running(pid, starttime):
    """True if the process with this PID *and* start time exists and is not a zombie."""
    st = proc_stat(pid)
    if st is None:
        return False
    state, start = st
    return start == starttime and state not in ("Z", "X")


def wait_exit(pid, starttime, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process_running(pid, starttime):
            return True
        time.sleep(0.05)
    return not process_running(pid, starttime)


# --- mounts --------------------------------------------------------------------------------------
def _unescape_mountinfo(field):
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts():
    """List of (mount point, fs type) from /proc/self/mountinfo."""
    result = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            result.append((_unescape_mountinfo(fields[4]), right.split()[0]))
    return result


def mount_count(path):
    path = os.path.realpath(path)
    return sum(1 for mnt, _ in mounts() if mnt == path)


def is_mounted(path):
    return mount_count(path) > 0


def lazy_unmount(path):
    subprocess.run(["fusermount3", "-u", "-z", path], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


# --- the daemon ----------------------------------------------------------------------------------
class Daemon:
    """One started hotplugfsd: ROOT/sys is its mount point (a sysfs root)."""

    def __init__(self, root, config, extra_args, index):
        self.root = root
        self.sys = os.path.join(root, "sys")
        self.config = config
        self.extra_args = tuple(extra_args)
        self.pid_file = os.path.join(root, f"hotplugfsd-{index}.pid")
        self.log_file = os.path.join(root, f"hotplugfsd-{index}.log")
        self.pid = None
        self.starttime = None
        self.stopped = False
        self.terminal = None  # what the start wrote to its stdout/stderr pipe (terminal=True)

    # paths
    def path(self, rel=""):
        return os.path.join(self.sys, rel) if rel else self.sys

    def mem(self, rel=""):
        return self.path(f"{MEM}/{rel}" if rel else MEM)

    def block(self, n, attr=""):
        return self.mem(f"memory{n}/{attr}" if attr else f"memory{n}")

    # reading
    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read()

    def read_mem(self, rel):
        with open(self.mem(rel), "rb") as f:
            return f.read()

    def state(self, n):
        with open(self.block(n, "state"), "rb") as f:
            return f.read()

    def block_ids(self):
        return sorted(int(e[6:]) for e in os.listdir(self.mem())
                      if e.startswith("memory") and e[6:].isdigit())

    def states(self):
        """{block: b'online\\n' | b'offline\\n' ...} for every block directory."""
        return {n: self.state(n) for n in self.block_ids()}

    def online_blocks(self):
        return {n for n, s in self.states().items() if s == b"online\n"}

    def log(self):
        try:
            with open(self.log_file, "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def running(self):
        return self.pid is not None and process_running(self.pid, self.starttime)

    def kill(self, sig):
        """Sends a signal to this daemon, only if its PID still names the process we started."""
        if self.running():
            os.kill(self.pid, sig)
            return True
        return False


def write_errno(path, data, flags=os.O_WRONLY):
    """Opens, writes, closes. Returns the byte count written, or the errno (as a negative int)."""
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return -exc.errno
    try:
        return os.write(fd, data)
    except OSError as exc:
        return -exc.errno
    finally:
        os.close(fd)


def call_errno(fn, *args, **kwargs):
    """Returns ('ok', result) or ('err', errno name)."""
    try:
        return ("ok", fn(*args, **kwargs))
    except OSError as exc:
        return ("err", errno.errorcode.get(exc.errno, str(exc.errno)))


def err(name):
    return -getattr(errno, name)


# Every daemon started and not yet stopped, for the watchdog.
_live = []
_live_lock = threading.Lock()


class DaemonPool:
    """Starts daemons and always cleans up what it started."""

    def __init__(self):
        self.daemons = []
        self.roots = []

    def start(self, config=None, extra_args=(), root=None, exe=None, terminal=False):
        """terminal=True: the daemon's stdout and stderr are a pipe, as a terminal would be,
        read until the daemon lets go of it; what it wrote is in d.terminal."""
        exe = exe or daemon_executable()
        assert os.access(exe, os.X_OK), f"daemon executable not found: {exe} (set HOTPLUGFSD)"
        if root is None:
            root = tempfile.mkdtemp(prefix=TEMP_PREFIX)
            self.roots.append(root)
        sysdir = os.path.join(root, "sys")
        try:
            os.mkdir(sysdir)
        except FileExistsError:
            pass  # also when a stale (dead) FUSE mount sits there
        d = Daemon(root, config, extra_args, len(self.daemons))
        self.daemons.append(d)
        with _live_lock:
            _live.append(d)
        args = [exe]
        if config is not None:
            args += ["--config", os.path.abspath(config)]
        args += ["--pid-file", d.pid_file, *extra_args, sysdir]
        if terminal:
            rc = self._run_on_pipe(d, args)
        else:
            with open(d.log_file, "wb") as log:
                # Output goes to a file, never a pipe: the detached daemon inherits it.
                try:
                    proc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          timeout=30)
                    rc = proc.returncode
                except subprocess.TimeoutExpired:
                    rc = "timeout (30 s)"
        self._learn_pid(d)
        assert rc == 0, f"{' '.join(args)} returned {rc}; log:\n{d.log()}"
        assert d.pid is not None, f"no PID in {d.pid_file}; log:\n{d.log()}"
        assert os.path.isdir(d.mem()), f"{d.mem()} missing after start; log:\n{d.log()}"
        return d

    @staticmethod
    def _run_on_pipe(d, args):
        """Runs the starting command with stdout and stderr on one pipe; returns its exit status
        once it has exited, after reading the pipe until every holder (the detached daemon
        too) has closed it, or 10 s have passed."""
        r, w = os.pipe()
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=w, stderr=w)
        finally:
            os.close(w)
        chunks, deadline = [], time.monotonic() + 10
        with os.fdopen(r, "rb", buffering=0) as pipe:
            os.set_blocking(pipe.fileno(), False)
            while time.monotonic() < deadline:
                ready, _, _ = select.select([pipe], [], [], 0.1)
                if ready:
                    data = pipe.read(65536)
                    if not data:
                        break
                    chunks.append(data)
        try:
            rc = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            rc = "timeout (10 s)"
        d.terminal = b"".join(chunks)
        with open(d.log_file, "wb") as log:
            log.write(d.terminal)
        return rc

    def _learn_pid(self, d):
        try:
            with open(d.pid_file) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        st = proc_stat(pid)
        if st is not None:
            d.pid, d.starttime = pid, st[1]

    def stop(self, d, sig=signal.SIGTERM):
        """SIGTERM (by PID), wait up to 5 s, then clear the mount if it is still there."""
        problems = []
        if not d.stopped and d.pid is not None:
            if d.kill(sig) and not wait_exit(d.pid, d.starttime, 5.0):
                problems.append(f"daemon {d.pid} still running 5 s after {sig.name}; killed")
                d.kill(signal.SIGKILL)
                wait_exit(d.pid, d.starttime, 5.0)
        d.stopped = True
        with _live_lock:
            if d in _live:
                _live.remove(d)
        if is_mounted(d.sys):
            lazy_unmount(d.sys)
        return problems

    def cleanup(self):
        problems = []
        for d in reversed(self.daemons):
            problems += self.stop(d)
        for root in self.roots:
            sysdir = os.path.join(root, "sys")
            for _ in range(10):
                if not is_mounted(sysdir):
                    break
                lazy_unmount(sysdir)
            if is_mounted(sysdir):
                problems.append(f"{sysdir} is still mounted; not removing {root}")
                continue
            shutil.rmtree(root, ignore_errors=True)
        self.daemons, self.roots = [], []
        for p in problems:
            warnings.warn(p)
        return problems


def kill_all_live(reason):
    """Watchdog: SIGKILL every daemon we started that is still running. Blocked FUSE calls in the
    test then fail (ENOTCONN) instead of hanging the whole run."""
    with _live_lock:
        victims = list(_live)
    for d in victims:
        if d.kill(signal.SIGKILL):
            sys.stderr.write(f"\nwatchdog: {reason}: SIGKILLed daemon {d.pid} ({d.sys})\n")


# --- command-line tools --------------------------------------------------------------------------
def run(cmd, cwd=None, timeout=60, shell=False):
    """Runs a command with C locale; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run(cmd, cwd=cwd, shell=shell, env=TOOL_ENV, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def bash(script, cwd=None, timeout=60):
    return run(["bash", "-c", script], cwd=cwd, timeout=timeout)


def strip_bash_prefix(stderr):
    """'bash: line 48: echo: write error: X' -> 'echo: write error: X' (each line)."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("bash: "):
            line = line[len("bash: "):]
            if line.startswith("line "):
                line = line.split(": ", 1)[1]
        out.append(line)
    return "\n".join(out)


def ns_run(d, command, timeout=120):
    """Runs `command` (sh syntax) in a private mount namespace where the emulated tree is bound
    over /sys/devices/system/memory and /sys/devices/system/node (and /sys/bus/memory,
    /sys/module/memory_hotplug when the host has them). The binds vanish with the namespace.

    The command runs only if the binds really point into this daemon's mount (same st_dev), so
    nothing can ever reach the host's real memory sysfs."""
    r = shlex.quote(d.sys)
    script = f"""
set -e
R={r}
mount --bind "$R/{MEM}" /sys/devices/system/memory
mount --bind "$R/{NODE}" /sys/devices/system/node
if [ -d /sys/bus/memory ] && [ -d "$R/{BUS}" ]; then
  mount --bind "$R/{BUS}" /sys/bus/memory
fi
if [ -d /sys/module/memory_hotplug ] && [ -d "$R/module/memory_hotplug" ]; then
  mount --bind "$R/module/memory_hotplug" /sys/module/memory_hotplug
fi
for p in devices/system/memory devices/system/node; do
  if [ "$(stat -c %d "/sys/$p")" != "$(stat -c %d "$R/$p")" ]; then
    echo "ns_run guard: /sys/$p is not the emulated tree" >&2
    exit 97
  fi
done
set +e
{command}
"""
    return run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
               timeout=timeout)


def lsmem_blocks(output):
    """Parses `lsmem -a -r -n -o BLOCK,STATE,NODE,ZONES` into {block: (state, node, zones)}."""
    rows = {}
    for line in output.splitlines():
        fields = line.split()
        if not fields:
            continue
        assert len(fields) == 4, f"unexpected lsmem row: {line!r}"
        rows[int(fields[0])] = (fields[1], int(fields[2]), fields[3])
    return rows


# --- configurations, uevent log, node files ------------------------------------------------------
def write_config(directory, config, name="config.json"):
    """Writes a configuration (a dict) as JSON into `directory`; returns the file's path."""
    path = os.path.join(str(directory), name)
    with open(path, "w") as f:
        json.dump(config, f, indent=1)
    return path


def read_events(path, source="kernel"):
    """The daemon's --event-log: a list of dicts (source, seqnum, time, monotonic_usec, action,
    devpath, subsystem, env, and for udev lines rules, attr_writes, run, log) in file order,
    only those of `source` ("kernel", "udev", or None for all); [] when the file does not exist
    yet."""
    try:
        with open(path) as f:
            events = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
    return [e for e in events if source is None or e.get("source", "kernel") == source]


def wait_until(predicate, seconds=20, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a true value (returned) or fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(interval)


def block_of(event):
    """memoryN's N for a memory-block event, else None."""
    m = re.fullmatch(r"/devices/system/memory/memory(\d+)", event.get("devpath", ""))
    return int(m.group(1)) if m else None


def memtotal_kb(d, node):
    """MemTotal of nodeK/meminfo in kB."""
    text = d.read(f"{NODE}/node{node}/meminfo").decode()
    return int(re.search(rf"^Node {node} MemTotal:\s+(\d+) kB$", text, re.M).group(1))


@contextlib.contextmanager
def small_tmpfs(directory, size):
    """A tmpfs of `size` (mount's size=, "64k") mounted on a new `directory`; yields
    (its path, fill(), free()): fill() writes a filler file until ENOSPC, free() removes it.
    Unmounted on exit, even on failure."""
    os.mkdir(directory)
    r = run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(directory)])
    assert r.returncode == 0, r.stderr
    filler = os.path.join(directory, "filler")

    def fill():
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(fd)

    try:
        yield directory, fill, lambda: os.unlink(filler)
    finally:
        lazy_unmount(str(directory))
