"""Consistency while the daemon itself changes blocks that readers read: hotplugfs-stress
(bench/stress.cpp) runs writer processes on blocks they own and reader processes that also read
blocks changed by the daemon's internal writers, all at the same time:

- D-Bus Online/Offline method calls (hotplugctl online/offline over the private socket),
- `ATTR{state}="online"` writes of the emulated udev (a rule on memory `add` events, --rules-dir),
- memory devices plugged and unplugged (examples/devices.json: DIMM dimm1, memory80-87, plugged
  and unplugged; virtio-mem vmem0, memory136-151, resized), whose blocks appear and vanish.

The machine is examples/devices.json with auto_online_blocks set to offline (so the rule, not the
kernel's auto-online, onlines plugged memory) and blocks 88-103 hot-added through `probe` for the
stress writers. Readers also read memory72-79 (dimm0: D-Bus online/offline; 74 holds unmovable
pages) with --watch and memory80-87 and 136-151 with --may-vanish, where ENOENT is what the
kernel answers for a block that is not there and is counted, not held against the daemon.

In the default (exact) mode every read that succeeds must be well formed and every store and
read-your-writes as predicted: 0 violations of every kind. With --fast a reader's malformed block
read is a concurrent-write anomaly; only store results, read errors, node masks, meminfo and the
final states are held against it, as in test_stress.py.

The tool's path: $HOTPLUGFS_STRESS, else build-test/bench/hotplugfs-stress or
build/bench/hotplugfs-stress (the first that exists); hotplugctl is the one next to the daemon."""

import json
import os
import re
import subprocess
import threading
import time

import pytest

import hpfs

OPS = 20000
TIMEOUT = 60  # seconds for one run of the tool
DEVICES_CONFIG = os.path.join(hpfs.REPO, "examples", "devices.json")
OWNED = range(88, 104)           # probed for the stress writers: free space of node 0
WATCH = "72-79"                  # dimm0, plugged at start: D-Bus online/offline
MAY_VANISH = "80-87,136-151"     # dimm1 (plug/unplug), vmem0 (resize 512M..2G)
DBUS_BLOCKS = [72, 73, 75, 76, 77, 78, 79]   # not 74: unmovable, its offline fails EBUSY
RULE = 'SUBSYSTEM=="memory", ACTION=="add", ATTR{state}=="offline", ATTR{state}="online"\n'


def stress_executable():
    return hpfs.stress_executable()


def hotplugctl_executable():
    return os.path.join(os.path.dirname(hpfs.daemon_executable()), "hotplugctl")


class Ctl:
    """hotplugctl --json against daemon `d`. Every call must get its own reply: a signal sent
    to a client before the reply to its Hello would fail the call with
    org.freedesktop.DBus.Error.IOError (the daemon signals only peers that subscribed)."""

    def __init__(self, d):
        self.d = d

    def __call__(self, *args, timeout=30):
        return subprocess.run([hotplugctl_executable(), "--root", self.d.root, "--json", *args],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, env=hpfs.TOOL_ENV)


def udev_settled(log):
    """True once every kernel event in the log has its udev line (rules and writes done)."""
    kernel = {e["seqnum"] for e in hpfs.read_events(log, "kernel")}
    udev = {e["seqnum"] for e in hpfs.read_events(log, "udev")}
    return kernel <= udev


class Churn(threading.Thread):
    """Loops hotplugctl calls that change blocks the stress writers do not own; records
    (kind, ok, started, ended, command, message) for every call (time.monotonic())."""

    def __init__(self, ctl):
        super().__init__(daemon=True)
        self.ctl = ctl
        self.stop = threading.Event()
        self.calls = []
        self.cycles = 0
        self.error = None

    def call(self, kind, *args):
        t0 = time.monotonic()
        try:
            r = self.ctl(*args)
            ok, msg = r.returncode == 0, (r.stdout or r.stderr).strip()
        except subprocess.TimeoutExpired:
            ok, msg = False, "timed out"
        self.calls.append((kind, ok, t0, time.monotonic(), " ".join(args), msg))

    def run(self):
        try:
            k = 0
            while not self.stop.is_set():
                b = DBUS_BLOCKS[k % len(DBUS_BLOCKS)]
                self.call("online", "online", str(b), ("movable", "kernel", "online")[k % 3])
                self.call("plug", "plug", "dimm1")          # adds 80-87: the rule onlines them
                self.call("resize", "resize", "vmem0", "2G")  # adds 144-151 (the rule again)
                self.call("offline", "offline", str(b))
                self.call("offline", "offline", str(80 + k % 8))
                self.call("online", "online", str(136 + k % 8), "movable")
                self.call("unplug", "unplug", "dimm1")       # 80-87 vanish
                self.call("resize", "resize", "vmem0", ("512M", "1G")[k % 2])  # 140/144-151 go
                k += 1
                self.cycles = k
        except Exception as exc:  # reported by the test
            self.error = repr(exc)

    def successes(self, kinds, start, end):
        """Successful calls of `kinds` that overlapped [start, end]."""
        return sum(1 for kind, ok, t0, t1, _, _ in self.calls
                   if ok and kind in kinds and t1 >= start and t0 <= end)

    def summary(self):
        out = {}
        for kind, ok, _, _, _, _ in self.calls:
            good, bad = out.get(kind, (0, 0))
            out[kind] = (good + ok, bad + (not ok))
        failures = [f"{cmd}: {msg}" for _, ok, _, _, cmd, msg in self.calls if not ok][:8]
        return f"calls (ok, failed): {out}; first failures: {failures}"


def udev_attr_writes(log, start, end):
    """(successful, failed) udev ATTR{state} writes processed within [start, end]."""
    good = bad = 0
    for e in hpfs.read_events(log, "udev"):
        if not start * 1e6 <= e.get("monotonic_usec", 0) <= end * 1e6:
            continue
        for w in e.get("attr_writes", []):
            if w["attr"] == "state":
                if w["error"]:
                    bad += 1
                else:
                    good += 1
    return good, bad


@pytest.mark.parametrize("fast", [False, True], ids=["exact", "fast"])
def test_stress_with_internal_writers(daemon, tmp_path, capsys, fast):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "90-stress-online.rules").write_text(RULE)
    log = str(tmp_path / "events.jsonl")
    daemon_log = tmp_path / "daemon.log"
    args = ["--rules-dir", str(rules), "--event-log", log, "--log-file", str(daemon_log)]
    d = daemon(config=DEVICES_CONFIG, extra_args=(["--fast"] if fast else []) + args)
    ctl = Ctl(d)

    def log_tail():
        try:
            return daemon_log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    # The rule, not the kernel's auto-online, onlines what is plugged from now on.
    r = ctl("set", "auto_online_blocks", "offline")
    assert r.returncode == 0, r.stderr
    for b in OWNED:
        r = ctl("probe", hex(b * hpfs.BLOCK_SIZE))
        assert r.returncode == 0, f"probe memory{b}: {r.stderr}"
    hpfs.wait_until(lambda: udev_settled(log), what="udev to process the probes' events")
    for b in OWNED:
        assert d.state(b) == b"online\n", f"the rule did not online memory{b}\n{log_tail()}"

    churn = Churn(ctl)
    churn.start()
    try:
        hpfs.wait_until(lambda: churn.cycles >= 1 or not churn.is_alive(), seconds=30,
                        what="one cycle of internal changes")
        exe = stress_executable()
        assert os.access(exe, os.X_OK), f"stress tool not found: {exe} (set HOTPLUGFS_STRESS)"
        start = time.monotonic()
        r = hpfs.run([exe, "--root", d.sys, "--ops", str(OPS), "--writers", "3",
                      "--readers", "3", "--first-block", str(OWNED[0]),
                      "--last-block", str(OWNED[-1]), "--watch", WATCH,
                      "--may-vanish", MAY_VANISH, "--mode", "fast" if fast else "strict",
                      "--stall-timeout", "30", "--timeout", str(TIMEOUT - 10)],
                     timeout=TIMEOUT)
        end = time.monotonic()
    finally:
        churn.stop.set()
        churn.join(timeout=60)
    assert not churn.is_alive(), "the internal-change thread did not stop"
    # Let udev finish the last events, then count what happened while the tool ran.
    hpfs.wait_until(lambda: udev_settled(log), what="udev to process the last events")
    attr_ok, attr_failed = udev_attr_writes(log, start, end)
    dbus = churn.successes({"online", "offline"}, start, end)
    plugs = churn.successes({"plug"}, start, end)
    unplugs = churn.successes({"unplug"}, start, end)
    resizes = churn.successes({"resize"}, start, end)
    report = (f"exit {r.returncode} after {end - start:.1f} s\n{r.stdout}\n{r.stderr}\n"
              f"internal changes during the run: D-Bus online/offline {dbus}, plug {plugs}, "
              f"unplug {unplugs}, resize {resizes}, udev ATTR{{state}} writes {attr_ok} "
              f"(+{attr_failed} failed); {churn.summary()}\ndaemon log:\n{log_tail()}")

    m = re.search(r"^ops: (\d+) of (\d+) done", r.stdout, re.M)
    assert m and int(m.group(1)) == OPS, report
    assert re.search(rf"^mode: {'fast' if fast else 'strict'}\b", r.stdout, re.M), report
    w = re.search(r"^watched: (\d+) reads of \d+ blocks .*: (\d+) well formed, (\d+) vanished",
                  r.stdout, re.M)
    assert w and int(w.group(1)) > 0 and int(w.group(2)) > 0, report
    if fast:
        # Store results, read errors, node masks, meminfo and final states: never wrong.
        assert not re.search(r"^\s*(write_\w+|read_io|bad_\w+|final_\w+|child): [1-9]",
                             r.stdout, re.M), report
    else:
        assert re.search(r"^violations: 0$", r.stdout, re.M), report
        assert r.returncode == 0, report
    # The internal writers really raced the tool.
    assert churn.error is None, churn.error + "\n" + report
    # Every D-Bus call was answered: none lost to a signal before its Hello reply.
    io_errors = [c for c in churn.calls if "org.freedesktop.DBus.Error.IOError" in str(c[5])]
    assert not io_errors, f"{io_errors[:3]}\n{report}"
    assert dbus > 0 and plugs > 0 and unplugs > 0 and resizes > 0, report
    assert attr_ok > 0, report
    assert d.running(), "daemon died during the run\n" + report
    assert ctl("status").returncode == 0, report
    with capsys.disabled():
        print(f"\n[{'fast' if fast else 'exact'}, internal writers] {w.group(0)}\n"
              f"  during the run: D-Bus online/offline {dbus}, plug {plugs}, unplug {unplugs}, "
              f"resize {resizes}, udev ATTR writes {attr_ok}")
