"""The D-Bus API (docs/dbus.md) on a private dbus-daemon started by each test, and on the
daemon's private peer-to-peer socket: every method through busctl, errors that carry the errno,
callers checked by credentials (root may change the machine, nobody may only read), and Uevent
signals with the event log's SEQNUMs."""

import json
import os
import signal
import subprocess
import tempfile
import shutil
import time

import pytest

import hpfs

REPO = hpfs.REPO
DEVICES_CONFIG = os.path.join(REPO, "examples", "devices.json")
NAME = "org.hotplugfs.HotplugFS"
PATH = "/org/hotplugfs/HotplugFS"
IFACE = "org.hotplugfs.Manager1"

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""


@pytest.fixture
def private_bus():
    """A dbus-daemon of this test only; yields its address. Stopped by PID afterwards."""
    directory = tempfile.mkdtemp(prefix=hpfs.TEMP_PREFIX + "bus-")
    os.chmod(directory, 0o755)  # `nobody` must reach the socket
    config = os.path.join(directory, "bus.conf")
    with open(config, "w") as f:
        f.write(BUS_CONFIG.format(socket=os.path.join(directory, "bus.sock")))
    r = subprocess.run(["dbus-daemon", f"--config-file={config}", "--fork", "--print-address=1",
                        "--print-pid=1"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    address, pid = r.stdout.split()[:2]
    pid = int(pid)
    start = hpfs.proc_stat(pid)[1]
    try:
        yield address
    finally:
        if hpfs.process_running(pid, start):
            os.kill(pid, signal.SIGTERM)
            hpfs.wait_exit(pid, start, 5)
        shutil.rmtree(directory, ignore_errors=True)


def busctl(address, *args, user=None):
    cmd = ["busctl", f"--address={address}", *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user if user != 'nobody' else 'nogroup'}",
               "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=hpfs.TOOL_ENV)


def call(address, method, signature="", *args, user=None):
    return busctl(address, "call", NAME, PATH, IFACE, method,
                  *([signature, *map(str, args)] if signature else []), user=user)


@pytest.fixture
def served(daemon, private_bus, tmp_path):
    log = str(tmp_path / "events.jsonl")
    d = daemon(config=DEVICES_CONFIG, extra_args=("--bus", private_bus, "--event-log", log))
    return d, private_bus, log


def test_introspection_shows_the_api(served):
    d, bus, _ = served
    r = busctl(bus, "introspect", NAME, PATH)
    assert r.returncode == 0, r.stderr
    for member in ("Probe", "Online", "Offline", "SetParameter", "PlugDevice", "AddDevice",
                   "UnplugDevice",
                   "ResizeDevice", "SetBlockFault", "SetNotifierError", "PoisonPage", "GetState",
                   "Uevent", "DeviceChanged", "AutoOnlineBlocks", "BlockSize"):
        assert f".{member} " in r.stdout, member
    r = busctl(bus, "tree", NAME)
    assert r.returncode == 0, r.stderr
    assert f"{PATH}/block/memory72" in r.stdout
    assert f"{PATH}/device/dimm1" in r.stdout


def test_busctl_calls_every_method(served):
    d, bus, _ = served
    ok = lambda r: r.returncode == 0 or pytest.fail(r.stderr)  # noqa: E731
    # Blocks: memory81 belongs to the unplugged dimm1; plug it first.
    ok(call(bus, "PlugDevice", "s", "dimm1"))
    assert d.read("kernel/debug/hotplugfs/devices/dimm1/plugged") == b"1073741824\n"
    ok(call(bus, "Offline", "t", 81))
    assert d.state(81) == b"offline\n"
    ok(call(bus, "Online", "ts", 81, "movable"))
    assert d.read_mem("memory81/valid_zones") == b"Movable\n"
    ok(call(bus, "Offline", "t", 81))
    ok(call(bus, "UnplugDevice", "s", "dimm1"))
    assert not os.path.exists(d.block(81))
    ok(call(bus, "ResizeDevice", "st", "vmem0", 2 << 30))
    assert d.read("kernel/debug/hotplugfs/devices/vmem0/plugged") == b"2147483648\n"
    ok(call(bus, "SetParameter", "ss", "auto_movable_ratio", "150"))
    assert d.read(f"{hpfs.PARAMS}/auto_movable_ratio") == b"150\n"
    ok(call(bus, "SetParameter", "ss", "auto_online_blocks", "offline"))
    assert d.read_mem("auto_online_blocks") == b"offline\n"
    ok(call(bus, "Probe", "t", 0x200000000))
    assert d.state(64) == b"offline\n"
    ok(call(bus, "SetBlockFault", "tbx", 64, "true", 0))
    r = call(bus, "Online", "ts", 64, "")
    ok(r)
    r = call(bus, "Offline", "t", 64)
    assert r.returncode != 0 and "Device or resource busy" in r.stderr
    ok(call(bus, "SetNotifierError", "si", "MEM_GOING_ONLINE", 12))
    assert d.read(f"{hpfs.INJECT}/MEM_GOING_ONLINE/error") == b"-12\n"
    ok(call(bus, "SetNotifierError", "si", "MEM_GOING_ONLINE", 0))
    r = call(bus, "GetState")
    ok(r)
    state = json.loads(json.loads(r.stdout.split(" ", 1)[1]))
    assert state["block_size"] == hpfs.BLOCK_SIZE
    assert {dev["name"]: dev["plugged"] for dev in state["devices"]}["vmem0"] == 2 << 30
    assert state["parameters"]["auto_movable_ratio"] == 150
    ok(call(bus, "PoisonPage", "tb", 64 * hpfs.BLOCK_SIZE, "false"))
    # Per-object interfaces.
    r = busctl(bus, "get-property", NAME, f"{PATH}/block/memory72", "org.hotplugfs.MemoryBlock1",
               "State")
    assert r.stdout.strip() == 's "offline"', r.stdout + r.stderr
    r = busctl(bus, "call", NAME, f"{PATH}/block/memory72", "org.hotplugfs.MemoryBlock1",
               "Online", "s", "movable")
    ok(r)
    assert d.read_mem("memory72/valid_zones") == b"Movable\n"
    ok(busctl(bus, "call", NAME, f"{PATH}/block/memory72", "org.hotplugfs.MemoryBlock1",
              "Offline"))
    assert d.state(72) == b"offline\n"
    r = busctl(bus, "get-property", NAME, f"{PATH}/device/vmem0", "org.hotplugfs.MemoryDevice1",
               "Plugged")
    assert r.stdout.strip() == f"t {2 << 30}"
    r = busctl(bus, "get-property", NAME, PATH, IFACE, "AutoMovableRatio")
    assert r.stdout.strip() == "u 150"


def test_add_device_creates_plugs_and_unplug_removes(served, tmp_path):
    d, bus, log = served
    ok = lambda r: r.returncode == 0 or pytest.fail(r.stderr)  # noqa: E731
    mon_out = open(tmp_path / "signals.out", "w")
    mon = subprocess.Popen(["busctl", f"--address={bus}", "monitor", "--match",
                            f"type='signal',member='DeviceChanged'"], stdout=mon_out,
                           stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        # A DIMM with defaults: the first free name and place of node 0 (8 GiB, memory64-71).
        r = call(bus, "AddDevice", "sita{sv}", "dimm", 0, 1 << 30, 0)
        ok(r)
        assert r.stdout.strip() == 's "dimm2"'
        assert d.read("kernel/debug/hotplugfs/devices/dimm2/start") == b"0x200000000\n"
        assert d.state(64) == b"online\n"  # auto_online_blocks is online in this machine
        # virtio-mem with every option.
        r = call(bus, "AddDevice", "sita{sv}", "virtio-mem", 1, 2 << 30, 4,
                 "name", "s", "vm1", "unit", "t", 256 << 20, "requested", "t", 512 << 20,
                 "start", "t", 0x540000000)
        ok(r)
        assert r.stdout.strip() == 's "vm1"'
        r = busctl(bus, "get-property", NAME, f"{PATH}/device/vm1", "org.hotplugfs.MemoryDevice1",
                   "Plugged")
        assert r.stdout.strip() == f"t {512 << 20}", r.stdout + r.stderr
        assert d.state(0x540000000 // hpfs.BLOCK_SIZE) == b"online\n"
        state = json.loads(json.loads(call(bus, "GetState").stdout.split(" ", 1)[1]))
        added = {dev["name"]: dev for dev in state["devices"] if dev["added"]}
        assert set(added) == {"dimm2", "vm1"}
        assert added["vm1"]["unit"] == 256 << 20 and added["vm1"]["node"] == 1
        # Refusals carry the errno; a refused add changes nothing.
        r = call(bus, "AddDevice", "sita{sv}", "dimm", 0, 64 << 30, 0)
        assert r.returncode != 0 and "No space left on device" in r.stderr, r.stderr
        r = call(bus, "AddDevice", "sita{sv}", "dimm", 0, 1 << 30, 1, "name", "s", "dimm0")
        assert r.returncode != 0 and "Invalid argument" in r.stderr, r.stderr
        r = call(bus, "AddDevice", "sita{sv}", "dimm", 0, 1 << 30, 1, "colour", "s", "red")
        assert r.returncode != 0 and "unknown option" in r.stderr, r.stderr
        r = call(bus, "AddDevice", "sita{sv}", "floppy", 0, 1 << 30, 0)
        assert r.returncode != 0 and "Invalid argument" in r.stderr, r.stderr
        r = call(bus, "AddDevice", "sita{sv}", "dimm", 0, 1 << 30, 0, user="nobody")
        assert r.returncode != 0 and "only root" in r.stderr, r.stderr
        assert sorted(os.listdir(d.path("kernel/debug/hotplugfs/devices"))) == \
            ["dimm0", "dimm1", "dimm2", "vm1", "vmem0"]
        # Unplugging an added device removes it, its object and its files.
        ok(call(bus, "UnplugDevice", "s", "dimm2"))
        assert not os.path.exists(d.block(64))
        assert sorted(os.listdir(d.path("kernel/debug/hotplugfs/devices"))) == \
            ["dimm0", "dimm1", "vm1", "vmem0"]
        r = busctl(bus, "get-property", NAME, f"{PATH}/device/dimm2", "org.hotplugfs.MemoryDevice1",
                   "Plugged")
        assert r.returncode != 0
        # vm1 moved up one place: its files still read its own values.
        assert d.read("kernel/debug/hotplugfs/devices/vm1/plugged") == b"536870912\n"
        assert d.read("kernel/debug/hotplugfs/devices/vm1/kind") == b"virtio-mem\n"
        hpfs.wait_until(lambda: (tmp_path / "signals.out").read_text().count("DeviceChanged") >= 3,
                        what="DeviceChanged signals")
        text = (tmp_path / "signals.out").read_text()
        assert '"dimm2"' in text and '"vm1"' in text
    finally:
        mon.terminate()
        mon.wait(timeout=10)
        mon_out.close()


def block_state_over_the_bus(bus, block):
    r = call(bus, "GetState")
    assert r.returncode == 0, r.stderr
    state = json.loads(json.loads(r.stdout.split(" ", 1)[1]))
    return next(run["state"] for run in state["blocks"] if run["first"] <= block <= run["last"])


def test_a_slow_offline_does_not_hold_up_the_bus(served):
    d, bus, _ = served
    # memory35 takes 2 s to offline: while it migrates, the bus still answers, and sees it.
    slow = subprocess.Popen(["busctl", f"--address={bus}", "call", NAME, PATH, IFACE, "Offline",
                             "t", "35"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hpfs.wait_until(lambda: d.state(35) == b"going-offline\n", 10, what="the offline to start")
        assert block_state_over_the_bus(bus, 35) == "going-offline"
        out, err = slow.communicate(timeout=30)
        assert slow.returncode == 0, err
    finally:
        if slow.poll() is None:
            slow.kill()
            slow.wait()
    assert d.state(35) == b"offline\n"
    # memory36 never finishes: nobody can signal a D-Bus caller, so after 20 s the offline is
    # interrupted as a signal would: EINTR, the block back online. A call made meanwhile
    # waits its turn (the kernel's hotplug lock) and then runs.
    never = subprocess.Popen(["busctl", f"--address={bus}", "--timeout=60", "call", NAME, PATH,
                              IFACE, "Offline", "t", "36"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hpfs.wait_until(lambda: d.state(36) == b"going-offline\n", 10, what="the offline to start")
        assert block_state_over_the_bus(bus, 36) == "going-offline"
        after = call(bus, "Offline", "t", 40)
        assert after.returncode == 0, after.stderr
        out, err = never.communicate(timeout=60)
    finally:
        if never.poll() is None:
            never.kill()
            never.wait()
    assert never.returncode != 0 and "Interrupted system call" in err, err
    assert d.state(36) == b"online\n"
    assert d.state(40) == b"offline\n"


def test_errors_carry_the_errno(served):
    d, bus, _ = served
    r = subprocess.run(["dbus-send", f"--bus={bus}", "--print-reply", f"--dest={NAME}", PATH,
                        f"{IFACE}.Online", "uint64:40", "string:"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "org.hotplugfs.Error.EINVAL" in r.stderr, r.stderr
    assert "Invalid argument" in r.stderr
    r = subprocess.run(["dbus-send", f"--bus={bus}", "--print-reply", f"--dest={NAME}", PATH,
                        f"{IFACE}.PlugDevice", "string:nosuch"],
                       capture_output=True, text=True, timeout=30)
    assert "org.hotplugfs.Error.ENOENT" in r.stderr, r.stderr


def test_unprivileged_callers_may_read_but_not_change(served):
    d, bus, _ = served
    r = call(bus, "GetState", user="nobody")
    assert r.returncode == 0, r.stderr
    r = busctl(bus, "get-property", NAME, PATH, IFACE, "BlockSize", user="nobody")
    assert r.stdout.strip() == f"t {hpfs.BLOCK_SIZE}"
    r = call(bus, "Online", "ts", 76, "", user="nobody")
    assert r.returncode != 0 and "only root" in r.stderr, r.stderr
    assert d.state(76) == b"offline\n"
    r = busctl(bus, "call", NAME, f"{PATH}/block/memory76", "org.hotplugfs.MemoryBlock1",
               "Online", "s", "", user="nobody")
    assert r.returncode != 0 and "only root" in r.stderr, r.stderr
    assert d.state(76) == b"offline\n"
    # The same over the private socket (no bus daemon: the socket peer's credentials).
    os.chmod(d.root, 0o755)
    p2p = f"unix:path={d.root}/bus"
    assert call(p2p, "GetState", user="nobody").returncode == 0
    r = call(p2p, "Online", "ts", 76, "", user="nobody")
    assert r.returncode != 0 and "only root" in r.stderr, r.stderr
    assert d.state(76) == b"offline\n"
    r = call(p2p, "Online", "ts", 76, "")
    assert r.returncode == 0, r.stderr
    assert d.state(76) == b"online\n"


def test_uevent_signals_carry_the_event_logs_seqnums(served, tmp_path):
    d, bus, log = served
    ctl = os.path.join(os.path.dirname(hpfs.daemon_executable()), "hotplugctl")
    out = open(tmp_path / "monitor.out", "w")
    mon = subprocess.Popen([ctl, "--address", bus, "monitor", "--property"], stdout=out,
                           stderr=subprocess.STDOUT)
    try:
        hpfs.wait_until(lambda: "KERNEL - the kernel uevent" in (tmp_path / "monitor.out").read_text(),
                        what="hotplugctl monitor to start")
        time.sleep(0.2)
        assert call(bus, "PlugDevice", "s", "dimm1").returncode == 0
        events = hpfs.wait_until(lambda: [e for e in hpfs.read_events(log) if e["action"] == "add"],
                                 what="add events in the log")
        want = [e["seqnum"] for e in hpfs.read_events(log)]
        hpfs.wait_until(lambda: all(f"SEQNUM={s}\n" in (tmp_path / "monitor.out").read_text()
                                    for s in want), what="every SEQNUM as a signal")
        assert len(events) == 8  # dimm1: 1 GiB of 128 MiB blocks
    finally:
        mon.send_signal(signal.SIGINT)
        mon.wait(timeout=10)
        out.close()
    text = (tmp_path / "monitor.out").read_text()
    assert "] add      /devices/system/memory/memory80 (memory)" in text


def test_save_load_and_properties_changed(served, tmp_path):
    d, bus, _ = served
    mon_out = open(tmp_path / "busctl-monitor.out", "w")
    # busctl monitor needs the bus to let it eavesdrop: the test bus allows it.
    mon = subprocess.Popen(["busctl", f"--address={bus}", "monitor", "--match",
                            "type='signal',interface='org.freedesktop.DBus.Properties'"],
                           stdout=mon_out, stderr=subprocess.STDOUT, env=hpfs.TOOL_ENV)
    try:
        time.sleep(0.5)
        saved = str(tmp_path / "saved.json")
        assert call(bus, "Save", "s", saved).returncode == 0
        assert json.load(open(saved))["format"] == 1
        # A parameter written through the mount, not the bus: still announced.
        with open(d.mem("auto_online_blocks"), "w") as f:
            f.write("offline")
        hpfs.wait_until(lambda: "AutoOnlineBlocks" in (tmp_path / "busctl-monitor.out").read_text(),
                        what="PropertiesChanged for AutoOnlineBlocks")
        assert call(bus, "Online", "ts", 72, "movable").returncode == 0
        assert call(bus, "Load", "s", saved).returncode == 0
        assert d.state(72) == b"offline\n"
        assert d.read_mem("auto_online_blocks") == b"online\n"
        r = call(bus, "Load", "s", str(tmp_path / "missing.json"))
        assert r.returncode != 0 and "No such file or directory" in r.stderr
        r = call(bus, "Save", "s", "relative.json")
        assert r.returncode != 0 and "absolute" in r.stderr
    finally:
        mon.send_signal(signal.SIGTERM)
        mon.wait(timeout=10)
        mon_out.close()
