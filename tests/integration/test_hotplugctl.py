"""hotplugctl end to end, over the daemon's private socket: every command in human and --json
output, exit codes (0 done, 1 failed with the kernel's message, 2 usage), save/load, monitor,
and `hotplugctl run`, including that nothing is left behind when it is SIGKILLed."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

import hpfs

REPO = hpfs.REPO
DEVICES_CONFIG = os.path.join(REPO, "examples", "devices.json")


def ctl_path():
    return os.path.join(os.path.dirname(hpfs.daemon_executable()), "hotplugctl")


def ctl(d, *args, json_out=False):
    cmd = [ctl_path(), "--root", d.root] + (["--json"] if json_out else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=hpfs.TOOL_ENV)


@pytest.fixture
def machine(daemon):
    return daemon(config=DEVICES_CONFIG)


def ok_json(r):
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True
    return doc


def test_status_human_and_json(machine):
    d = machine
    r = ctl(d, "status")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^0x0000000240000000-0x000000027fffffff\s+1G offline\s+72-79\s+0\s+Movable Normal$",
                     r.stdout, re.M), r.stdout
    assert "Memory block size:    128M" in r.stdout
    assert re.search(r"^dimm1\s+dimm\s+0 0x0000000280000000\s+1G\s+0B$", r.stdout, re.M), r.stdout
    r = ctl(d, "status", json_out=True)
    state = json.loads(r.stdout)
    assert state["block_size"] == hpfs.BLOCK_SIZE
    assert {"first": 72, "last": 79, "state": "offline", "zones": "Movable Normal", "node": 0} \
        in state["blocks"]
    assert [dev["name"] for dev in state["devices"]] == ["dimm0", "dimm1", "vmem0"]


def test_block_commands(machine):
    d = machine
    assert ctl(d, "online", "memory72", "movable").returncode == 0
    assert d.read_mem("memory72/valid_zones") == b"Movable\n"
    r = ctl(d, "online", "72")
    assert r.returncode == 1
    assert r.stderr.strip().endswith("Invalid argument"), r.stderr
    r = ctl(d, "online", "72", json_out=True)
    doc = json.loads(r.stdout)
    assert r.returncode == 1 and doc["errno"] == 22 and doc["error"] == "org.hotplugfs.Error.EINVAL"
    ok_json(ctl(d, "offline", "72", json_out=True))
    assert d.state(72) == b"offline\n"
    assert ctl(d, "online", "73", "kernel").returncode == 0
    assert d.read_mem("memory73/valid_zones") == b"Normal\n"
    assert ctl(d, "online", "nonsense").returncode == 2
    assert ctl(d, "offline").returncode == 2


def test_probe_set_and_devices(machine):
    d = machine
    assert ctl(d, "set", "auto_online_blocks", "offline").returncode == 0
    ok_json(ctl(d, "set", "auto_movable_ratio", "200", json_out=True))
    assert d.read(f"{hpfs.PARAMS}/auto_movable_ratio") == b"200\n"
    assert ctl(d, "set", "auto_movable_ratio", "lots").returncode == 1
    assert ctl(d, "probe", "8G").returncode == 0  # 0x200000000: memory64
    assert d.state(64) == b"offline\n"
    r = ctl(d, "probe", "0x200000000")
    assert r.returncode == 1 and "File exists" in r.stderr, r.stderr
    assert ctl(d, "plug", "dimm1").returncode == 0
    assert d.read("kernel/debug/hotplugfs/devices/dimm1/plugged") == b"1073741824\n"
    ok_json(ctl(d, "unplug", "dimm1", json_out=True))
    assert not os.path.exists(d.block(80))
    assert ctl(d, "resize", "vmem0", "2G").returncode == 0
    assert d.read("kernel/debug/hotplugfs/devices/vmem0/plugged") == b"2147483648\n"
    r = ctl(d, "resize", "vmem0", "100M")
    assert r.returncode == 1 and "Invalid argument" in r.stderr
    assert ctl(d, "resize", "vmem0", "2Q").returncode == 2
    r = ctl(d, "plug", "nosuch")
    assert r.returncode == 1 and "No such file or directory" in r.stderr


def test_plug_new_devices(machine):
    d = machine
    devices = "kernel/debug/hotplugfs/devices"
    # A DIMM on node 0 by default, in the first free place (8 GiB: memory64-71).
    r = ctl(d, "plug", "--size", "1G")
    assert r.returncode == 0 and r.stdout == "dimm2\n", r.stdout + r.stderr
    assert d.read(f"{devices}/dimm2/start") == b"0x200000000\n"
    assert d.state(64) == b"online\n" and d.state(71) == b"online\n"
    doc = ok_json(ctl(d, "plug", "--kind", "virtio-mem", "--node", "1", "--size", "2G",
                      "--requested", "512M", "--name", "big", json_out=True))
    assert doc["result"] == {"name": "big"}
    # Node 1's first free place for 2 GiB follows vmem0 (17-21 GiB): memory168-171 plugged.
    assert d.state(168) == b"online\n" and not os.path.exists(d.block(172))
    # Read it now, so that the kernel caches these files before big moves up one place.
    assert d.read(f"{devices}/big/kind") == b"virtio-mem\n"
    assert d.read(f"{devices}/big/plugged") == b"536870912\n"
    r = ctl(d, "status")
    assert re.search(r"^big\s+virtio-mem\s+1 0x0000000540000000\s+2G\s+512M$", r.stdout, re.M), \
        r.stdout
    state = json.loads(ctl(d, "status", json_out=True).stdout)
    assert [(x["name"], x["added"]) for x in state["devices"]] == \
        [("dimm0", False), ("dimm1", False), ("vmem0", False), ("dimm2", True), ("big", True)]
    assert ctl(d, "resize", "big", "2G").returncode == 0
    assert d.state(183) == b"online\n"
    # Refusals: no room, a name in use, usage errors.
    r = ctl(d, "plug", "--size", "64G")
    assert r.returncode == 1 and "No space left on device" in r.stderr, r.stderr
    r = ctl(d, "plug", "--size", "1G", "--name", "dimm0", json_out=True)
    assert r.returncode == 1 and json.loads(r.stdout)["errno"] == 22
    for bad in (["--size"], ["--kind", "floppy", "--size", "1G"], ["--node", "x", "--size", "1G"],
                ["--size", "1G", "extra"], ["--kind", "dimm"]):
        assert ctl(d, "plug", *bad).returncode == 2, bad
    # Unplugging an added device removes it; big's files follow it to its new place.
    assert ctl(d, "unplug", "dimm2").returncode == 0
    assert not os.path.exists(d.block(64))
    assert sorted(os.listdir(d.path(devices))) == ["big", "dimm0", "dimm1", "vmem0"]
    assert d.read(f"{devices}/big/kind") == b"virtio-mem\n"
    assert d.read(f"{devices}/big/plugged") == b"2147483648\n"
    assert d.read(f"{devices}/big/start") == b"0x540000000\n"
    ok_json(ctl(d, "unplug", "big", json_out=True))
    assert sorted(os.listdir(d.path(devices))) == ["dimm0", "dimm1", "vmem0"]
    assert not os.path.exists(d.block(168))


def test_fault_commands(machine):
    d = machine
    assert ctl(d, "fault", "notifier", "MEM_GOING_ONLINE", "16").returncode == 0
    assert d.read(f"{hpfs.INJECT}/MEM_GOING_ONLINE/error") == b"-16\n"
    r = ctl(d, "online", "74")
    assert r.returncode == 1
    ok_json(ctl(d, "fault", "notifier", "MEM_GOING_ONLINE", "0", json_out=True))
    assert ctl(d, "online", "74").returncode == 0
    assert ctl(d, "fault", "block", "74", "--unmovable").returncode == 0
    r = ctl(d, "offline", "74")
    assert r.returncode == 1 and "Device or resource busy" in r.stderr
    assert ctl(d, "fault", "block", "74").returncode == 0
    assert ctl(d, "offline", "74").returncode == 0
    assert ctl(d, "online", "75").returncode == 0
    assert ctl(d, "fault", "poison", hex(75 * hpfs.BLOCK_SIZE), "--hard").returncode == 0
    assert ctl(d, "fault", "bogus").returncode == 2


def test_save_and_load(machine, tmp_path):
    d = machine
    saved = str(tmp_path / "saved.json")
    assert ctl(d, "save", saved).returncode == 0
    before = d.states()
    assert ctl(d, "online", "76", "movable").returncode == 0
    assert ctl(d, "plug", "dimm1").returncode == 0
    assert d.states() != before
    assert os.path.isdir(d.block(80))
    seq_before = json.loads(ctl(d, "status", json_out=True).stdout)["seqnum"]
    ok_json(ctl(d, "load", saved, json_out=True))
    assert d.states() == before
    assert not os.path.exists(d.block(80))  # the cached name went with the load
    assert json.loads(ctl(d, "status", json_out=True).stdout)["seqnum"] >= seq_before
    (tmp_path / "broken.json").write_text("{\"format\": 1, ")
    r = ctl(d, "load", str(tmp_path / "broken.json"))
    assert r.returncode == 1 and "broken.json" in r.stderr
    assert d.states() == before


def test_load_changes_the_device_listing(machine, tmp_path):
    """A Load that adds or removes a device changes kernel/debug/hotplugfs/devices and the
    device's files, though the kernel has the old listing and files cached."""
    d = machine
    devices = d.path(hpfs.DEVICES)

    def listing():
        return sorted(os.listdir(devices))

    def files(name):
        return {f: d.read(f"{hpfs.DEVICES}/{name}/{f}") for f in sorted(os.listdir(f"{devices}/{name}"))
                if os.path.isfile(f"{devices}/{name}/{f}") and os.stat(f"{devices}/{name}/{f}").st_mode & 0o444}

    without = str(tmp_path / "without.json")
    assert ctl(d, "save", without).returncode == 0
    names_without = listing()
    r = ctl(d, "plug", "--size", "2G", "--node", "1")
    assert r.returncode == 0, r.stderr
    added = r.stdout.strip()
    assert added and added not in names_without
    with_added = str(tmp_path / "with.json")
    assert ctl(d, "save", with_added).returncode == 0
    names_with = listing()
    assert added in names_with
    added_files = files(added)  # cached by the kernel now

    # Back to the machine without the device: its name and directory go.
    ok_json(ctl(d, "load", without, json_out=True))
    assert listing() == names_without
    assert not os.path.exists(f"{devices}/{added}")
    # And forward again: it is back, with its own files.
    ok_json(ctl(d, "load", with_added, json_out=True))
    assert listing() == names_with
    assert files(added) == added_files
    for name in names_without:  # the configured devices read as they did
        assert os.path.isdir(f"{devices}/{name}")


def test_monitor_over_the_socket(machine, tmp_path):
    d = machine
    out = open(tmp_path / "monitor.out", "w")
    mon = subprocess.Popen([ctl_path(), "--root", d.root, "monitor", "--property"], stdout=out,
                           stderr=subprocess.STDOUT)
    try:
        hpfs.wait_until(lambda: "KERNEL - the kernel uevent" in (tmp_path / "monitor.out").read_text(),
                        what="monitor to start")
        time.sleep(0.2)
        assert ctl(d, "online", "77").returncode == 0
        hpfs.wait_until(lambda: "] online   /devices/system/memory/memory77 (memory)\nACTION=online\n"
                        in (tmp_path / "monitor.out").read_text(), what="the online event")
    finally:
        mon.send_signal(signal.SIGINT)
        assert mon.wait(timeout=10) == 0
        out.close()


def test_usage_and_help():
    assert subprocess.run([ctl_path()], capture_output=True).returncode == 2
    r = subprocess.run([ctl_path(), "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for command in ("status", "plug", "unplug", "resize", "probe", "online", "offline", "set",
                    "fault", "monitor", "save", "load", "run"):
        assert re.search(rf"^  {command}\b", r.stdout, re.M), command
        h = subprocess.run([ctl_path(), command, "--help"], capture_output=True, text=True)
        assert h.returncode == 0 and "Usage: hotplugctl" in h.stdout, command
    assert subprocess.run([ctl_path(), "frobnicate"], capture_output=True).returncode == 2


# --- hotplugctl run ---------------------------------------------------------------------------------
def run(*args, timeout=120):
    return subprocess.run([ctl_path(), "run", "--daemon", hpfs.daemon_executable(), *args],
                          capture_output=True, text=True, timeout=timeout, env=hpfs.TOOL_ENV)


def leftover_runs():
    return [p for p in os.listdir("/tmp") if p.startswith("hotplugctl-run-")]


def test_run_lsmem_sees_the_emulated_machine():
    before = leftover_runs()
    r = run("--config", os.path.join(REPO, "examples", "kernel-6.18-vm.json"), "--",
            "lsmem", "-o", "RANGE,SIZE,STATE,BLOCK,NODE,ZONES")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^0x0000000000000000-0x0000000007ffffff\s+128M\s+online\s+0\s+0\s+None$",
                     r.stdout, re.M), r.stdout
    assert "32-199" in r.stdout  # the reference VM, not this host
    assert leftover_runs() == before


def test_run_changes_the_emulated_block_not_the_hosts():
    host = "/sys/devices/system/memory/memory40/state"
    host_before = open(host).read() if os.path.exists(host) else None
    r = run("--", "sh", "-c", "echo offline > /sys/devices/system/memory/memory40/state && "
            "cat /sys/devices/system/memory/memory40/state && exit 7")
    assert r.returncode == 7, r.stderr
    assert r.stdout == "offline\n"
    if host_before is not None:
        assert open(host).read() == host_before


def test_run_passes_signals_and_exit_codes():
    assert run("--", "sh", "-c", "kill -TERM $$").returncode == 128 + signal.SIGTERM
    assert run("--", "/nonexistent/program").returncode == 127


def test_run_sigkilled_leaves_nothing_behind(tmp_path):
    marker = tmp_path / "started"
    proc = subprocess.Popen([ctl_path(), "run", "--daemon", hpfs.daemon_executable(), "--",
                             "sh", "-c", f"touch {marker}; exec sleep 3117"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        hpfs.wait_until(marker.exists, 30, what="the command to start")
        children = descendants(proc.pid)
        assert any("sleep" in cmd and "3117" in cmd for _, cmd in children), children
        assert any("hotplugfsd" in cmd for _, cmd in children), children
    finally:
        proc.kill()
        proc.wait(timeout=10)
    for pid, cmd in children:
        hpfs.wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
                        hpfs.proc_stat(pid) is None or hpfs.proc_stat(pid)[0] in ("Z", "X"),
                        15, what=f"{cmd} ({pid}) to end")
    # The daemon's mount lived only in its own mount namespace: nothing in ours.
    assert not any("hotplugctl-run-" in mnt for mnt, _ in hpfs.mounts())
    # Its run directory is removed too, once the daemon has gone.
    run_dirs = {m.group(0) for _, cmd in children
                for m in [re.search(r"/tmp/hotplugctl-run-\w+", cmd)] if m}
    assert run_dirs, children
    hpfs.wait_until(lambda: not any(os.path.exists(p) for p in run_dirs), 15,
                    what="the run directory to be removed")


def hotplugfsd_pid(pid_file, other_than=None):
    """The PID in the daemon's pid file once it names a live hotplugfsd (not `other_than`)."""
    def current():
        try:
            pid = int(open(pid_file).read())
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
        except (OSError, ValueError):
            return None
        return pid if b"hotplugfsd" in cmd and pid != other_than else None
    hpfs.wait_until(lambda: current() is not None, 30, what=f"a daemon in {pid_file}")
    return current()


def kill_daemon_of_run(proc, tmp_path):
    """SIGKILLs the daemon of the `hotplugctl run` whose command wrote $HOTPLUGFS_DAEMON_PIDFILE
    into tmp_path/pidfile; returns (the pid file, the new daemon's PID, the processes of the run
    with the new daemon)."""
    path_file = tmp_path / "pidfile"
    hpfs.wait_until(lambda: path_file.exists() and path_file.read_text().strip(), 30,
                    what="the command to start")
    pid_file = path_file.read_text().strip()
    assert re.fullmatch(r"/tmp/hotplugctl-run-\w+/pid", pid_file), pid_file
    old = hotplugfsd_pid(pid_file)
    os.kill(old, signal.SIGKILL)
    new = hotplugfsd_pid(pid_file, other_than=old)
    return pid_file, new, descendants(proc.pid)


def assert_run_left_nothing(children, before):
    for pid, cmd in children:
        hpfs.wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
                        hpfs.proc_stat(pid) is None or hpfs.proc_stat(pid)[0] in ("Z", "X"),
                        15, what=f"{cmd} ({pid}) to end")
    assert not any("hotplugctl-run-" in mnt for mnt, _ in hpfs.mounts())
    hpfs.wait_until(lambda: leftover_runs() == before, 15, what="the run directory to go")


def test_run_starts_a_killed_daemon_again_on_the_same_mount_and_machine(tmp_path):
    before = leftover_runs()
    # Written before the test may kill the daemon: a write in flight then would fail EIO.
    script = ("echo online > /sys/devices/system/memory/memory72/state || exit 3; "
              f'echo "$HOTPLUGFS_DAEMON_PIDFILE" > {tmp_path}/pidfile; '
              f"while [ ! -e {tmp_path}/killed ]; do sleep 0.05; done; sleep 1; "
              "lsmem -o BLOCK,STATE")
    proc = subprocess.Popen([ctl_path(), "run", "--daemon", hpfs.daemon_executable(), "--",
                             "sh", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=hpfs.TOOL_ENV)
    children = []
    try:
        _, new, children = kill_daemon_of_run(proc, tmp_path)
        assert any(pid == new for pid, _ in children), children
        (tmp_path / "killed").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err
    # The machine of before the kill (--state), memory72 online included.
    assert re.search(r"^\s*32-72\s+online$", out, re.M), out
    assert re.search(r"^\s*73-135\s+offline$", out, re.M), out
    assert "starting it again" in err, err
    assert "Transport endpoint" not in out + err
    assert_run_left_nothing(children, before)


READER = r"""
import os, sys, time
done, errors, reads, after = sys.argv[1], {}, 0, 0
files = ["/sys/devices/system/memory/memory0/state",
         "/sys/devices/system/memory/block_size_bytes"]
open(os.path.join(os.path.dirname(done), "reading"), "w").close()
while not os.path.exists(done):
    for f in files:
        try:
            with open(f) as fh:
                fh.read()
            reads += 1
        except OSError as e:
            errors[e.strerror] = errors.get(e.strerror, 0) + 1
    if os.path.exists(os.path.join(os.path.dirname(done), "restarted")):
        after += 1
print(reads, after, sorted(errors.items()))
"""


def test_run_reader_sees_no_error_across_a_daemon_kill(tmp_path):
    before = leftover_runs()
    script = (f'echo "$HOTPLUGFS_DAEMON_PIDFILE" > {tmp_path}/pidfile; '
              f'exec python3 -c "$0" {tmp_path}/done')
    proc = subprocess.Popen([ctl_path(), "run", "--daemon", hpfs.daemon_executable(), "--",
                             "sh", "-c", script, READER], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=hpfs.TOOL_ENV)
    children = []
    try:
        hpfs.wait_until((tmp_path / "reading").exists, 30, what="the reader to start")
        time.sleep(0.3)
        _, _, children = kill_daemon_of_run(proc, tmp_path)
        (tmp_path / "restarted").touch()
        time.sleep(1)
        (tmp_path / "done").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err
    reads, after, errors = out.split(" ", 2)
    assert errors.strip() == "[]", out
    assert int(after) > 0, out  # it read on after the daemon was started again
    assert int(reads) > int(after), out
    assert_run_left_nothing(children, before)


def test_run_netns_monitor_hears_the_daemon_started_again(tmp_path):
    """With --netns, the command's `udevadm monitor` hears the events of the daemon started in
    place of a killed one: it broadcasts in the network namespace the command listens in."""
    before = leftover_runs()
    out_file = tmp_path / "monitor.out"
    heard = ("for i in $(seq 200); do grep -q \"online   /devices/system/memory/memory$1 \" "
             f"{out_file} && return 0; sleep 0.05; done; return 1")
    script = (f"heard() {{ {heard}; }}; "
              f"udevadm monitor --udev --subsystem-match=memory > {out_file} 2>&1 & "
              f'until grep -q "UDEV - the event" {out_file}; do sleep 0.05; done; '
              "echo online > /sys/devices/system/memory/memory72/state || exit 3; "
              "heard 72 || exit 4; "
              f'echo "$HOTPLUGFS_DAEMON_PIDFILE" > {tmp_path}/pidfile; '
              f"while [ ! -e {tmp_path}/killed ]; do sleep 0.05; done; "
              "echo online > /sys/devices/system/memory/memory73/state || exit 5; "
              "heard 73 || exit 6; kill $!")
    proc = subprocess.Popen([ctl_path(), "run", "--netns", "--daemon", hpfs.daemon_executable(),
                             "--", "sh", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=hpfs.TOOL_ENV)
    children = []
    try:
        _, _, children = kill_daemon_of_run(proc, tmp_path)
        (tmp_path / "killed").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    monitor = out_file.read_text()
    assert proc.returncode == 0, (proc.returncode, err, monitor)
    assert "starting it again" in err, err
    assert "online   /devices/system/memory/memory73 (memory)" in monitor, monitor
    assert_run_left_nothing(children, before)


def test_run_reader_sees_no_error_across_a_planned_restart(tmp_path):
    """SIGHUP to the daemon of `hotplugctl run` (its PID from $HOTPLUGFS_DAEMON_PIDFILE, from
    outside): the same process runs the daemon again, hotplugctl starts nothing, and the
    command's reader sees not one error."""
    before = leftover_runs()
    script = (f'echo "$HOTPLUGFS_DAEMON_PIDFILE" > {tmp_path}/pidfile; '
              f'exec python3 -c "$0" {tmp_path}/done')
    proc = subprocess.Popen([ctl_path(), "run", "--daemon", hpfs.daemon_executable(), "--",
                             "sh", "-c", script, READER], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=hpfs.TOOL_ENV)
    children = []
    try:
        hpfs.wait_until((tmp_path / "reading").exists, 30, what="the reader to start")
        path_file = tmp_path / "pidfile"
        hpfs.wait_until(lambda: path_file.exists() and path_file.read_text().strip(), 30,
                        what="the command to start")
        pid_file = path_file.read_text().strip()
        daemon = hotplugfsd_pid(pid_file)
        log = os.path.join(os.path.dirname(pid_file), "daemon.log")
        time.sleep(0.3)
        os.kill(daemon, signal.SIGHUP)
        hpfs.wait_until(lambda: open(log).read().count("serving ") == 2, 30,
                        what="the daemon to serve again")
        (tmp_path / "restarted").touch()
        assert hotplugfsd_pid(pid_file) == daemon
        assert "took over" in open(log).read()
        children = descendants(proc.pid)
        time.sleep(1)
        (tmp_path / "done").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err
    reads, after, errors = out.split(" ", 2)
    assert errors.strip() == "[]", out
    assert int(after) > 0, out
    assert "starting it again" not in err, err
    assert_run_left_nothing(children, before)


def descendants(root):
    """(pid, cmdline) of every process below `root`."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = hpfs.proc_stat(int(entry))
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, ValueError, IndexError):
                continue
            if st:
                parents[int(entry)] = (ppid, cmd)
    out, frontier = [], [root]
    while frontier:
        p = frontier.pop()
        for pid, (ppid, cmd) in parents.items():
            if ppid == p:
                out.append((pid, cmd))
                frontier.append(pid)
    return out
