"""The emulated udev: rules applied by the daemon (--rules-dir), RUN programs, the event log's
udev lines, `udevadm trigger` and `udevadm test` against the tree, libudev monitors in the
daemon's private network namespace (--udev-netns) and `hotplugctl monitor`.

The default machine has blocks 72-135 offline and free pluggable space from 17 GiB (block 136,
node 0); auto_online_blocks is offline, so only a rule can online a probed block."""

import json
import os
import shlex
import signal
import subprocess
import time

import pytest

import hpfs
from hpfs import write_errno

REPO = hpfs.REPO
SHIPPED = os.path.join(REPO, "udev-rules")
PROBE_ADDR = b"0x440000000\n"  # block 136
NEW_BLOCK = 136


def hotplugctl():
    daemon = hpfs.daemon_executable()
    return os.path.join(os.path.dirname(daemon), "hotplugctl")


def rules_dir(tmp_path, text, name="90-test.rules", sub="rules"):
    d = tmp_path / sub
    d.mkdir(exist_ok=True)
    (d / name).write_text(text)
    return str(d)


def start(daemon, tmp_path, *rules_dirs, config=None, extra=()):
    log = str(tmp_path / "events.jsonl")
    args = ["--event-log", log, "--log-file", str(tmp_path / "daemon.log"), *extra]
    for r in rules_dirs:
        args += ["--rules-dir", r]
    return daemon(config=config, extra_args=args), log


def daemon_log(tmp_path):
    try:
        return (tmp_path / "daemon.log").read_text()
    except FileNotFoundError:
        return ""


def udev_event(log, seqnum):
    """The udev line of event `seqnum`, once the daemon processed it."""
    return hpfs.wait_until(
        lambda: next((e for e in hpfs.read_events(log, "udev") if e["seqnum"] == seqnum), None),
        what=f"udev line of SEQNUM {seqnum}")


def kernel_event(log, action, block):
    devpath = f"/devices/system/memory/memory{block}"
    return hpfs.wait_until(
        lambda: next((e for e in hpfs.read_events(log) if e["action"] == action
                      and e["devpath"] == devpath), None),
        what=f"kernel {action} of memory{block}")


def probe(d):
    assert write_errno(d.mem("probe"), PROBE_ADDR) == len(PROBE_ADDR)


def wait_state(d, block, state, seconds=20):
    hpfs.wait_until(lambda: d.state(block) == state, seconds,
                    what=f"memory{block}/state == {state!r}")


# --- the shipped rules ----------------------------------------------------------------------------
def test_shipped_rule_onlines_a_probed_block(daemon, tmp_path):
    d, log = start(daemon, tmp_path, SHIPPED)
    probe(d)
    wait_state(d, NEW_BLOCK, b"online\n")
    add = kernel_event(log, "add", NEW_BLOCK)
    online = kernel_event(log, "online", NEW_BLOCK)
    assert online["seqnum"] > add["seqnum"]
    processed = udev_event(log, add["seqnum"])
    rule_file = os.path.join(SHIPPED, "80-memory-online.rules")
    assert [(r["file"], r["line"]) for r in processed["rules"]] == [(rule_file, 2)]
    assert [(w["attr"], w["value"], w["error"]) for w in processed["attr_writes"]] == \
        [("state", "online", "")]
    # In file order: add, then the rule's result for add, then online.
    everything = hpfs.read_events(log, None)
    order = [(e["source"], e["seqnum"]) for e in everything]
    assert order.index(("kernel", add["seqnum"])) < order.index(("udev", add["seqnum"]))
    assert order.index(("kernel", online["seqnum"])) < order.index(("udev", online["seqnum"]))
    udev_event(log, online["seqnum"])
    assert f"{rule_file}:2 matched" in daemon_log(tmp_path)
    # The broadcast properties: the kernel's, then the time udev initialized the device.
    keys = list(processed["env"])
    assert keys[:4] == ["ACTION", "DEVPATH", "SUBSYSTEM", "SEQNUM"]
    assert "USEC_INITIALIZED" in keys


def test_movable_variant_overrides_by_file_name(daemon, tmp_path):
    d, _ = start(daemon, tmp_path, SHIPPED, os.path.join(SHIPPED, "movable"))
    probe(d)
    wait_state(d, NEW_BLOCK, b"online\n")
    assert d.read_mem(f"memory{NEW_BLOCK}/valid_zones") == b"Movable\n"


@pytest.mark.parametrize("virt,zone", [("none", b"Movable\n"), ("kvm", b"Normal\n")])
def test_virt_variant_follows_const_virt(daemon, tmp_path, virt, zone):
    config = hpfs.write_config(tmp_path, default_machine_config(virt))
    d, _ = start(daemon, tmp_path, os.path.join(SHIPPED, "virt"), config=config)
    probe(d)
    wait_state(d, NEW_BLOCK, b"online\n")
    assert d.read_mem(f"memory{NEW_BLOCK}/valid_zones") == zone


def default_machine_config(virt):
    """The built-in machine (examples/default.json) with a `virt` of choice."""
    with open(os.path.join(REPO, "examples", "default.json")) as f:
        config = json.load(f)
    config["virt"] = virt
    return config


# --- rules as distributions and guides write them --------------------------------------------------
RHEL_STYLE = """\
# Memory hotadd request
SUBSYSTEM!="memory", GOTO="memory_hotplug_end"
ACTION!="add", GOTO="memory_hotplug_end"
CONST{arch}=="s390*|ppc64*", GOTO="memory_hotplug_end"

ENV{.state}="online"
CONST{virt}=="none", ENV{.state}="online_movable"
ATTR{state}=="offline", ATTR{state}="$env{.state}"

LABEL="memory_hotplug_end"
"""

UBUNTU_STYLE = (
    'SUBSYSTEM=="memory", ACTION=="add", DEVPATH=="/devices/system/memory/memory[0-9]*", '
    'TEST=="state", ATTR{state}!="online", ATTR{state}="online"\n')

BARE = 'SUBSYSTEM=="memory", ACTION=="add", ATTR{state}="online"\n'


@pytest.mark.parametrize("virt,zone", [("none", b"Movable\n"), ("microsoft", b"Normal\n")])
def test_rhel_style_block(daemon, tmp_path, virt, zone):
    config = hpfs.write_config(tmp_path, default_machine_config(virt))
    d, log = start(daemon, tmp_path, rules_dir(tmp_path, RHEL_STYLE, "40-redhat.rules"),
                   config=config)
    probe(d)
    wait_state(d, NEW_BLOCK, b"online\n")
    assert d.read_mem(f"memory{NEW_BLOCK}/valid_zones") == zone
    add = udev_event(log, kernel_event(log, "add", NEW_BLOCK)["seqnum"])
    assert ".state" not in add["env"]  # private to the rules, never broadcast


def test_ubuntu_style_line(daemon, tmp_path):
    d, log = start(daemon, tmp_path, rules_dir(tmp_path, UBUNTU_STYLE, "40-vm-hotadd.rules"))
    probe(d)
    wait_state(d, NEW_BLOCK, b"online\n")
    # Replaying add for an online block: ATTR{state}!="online" keeps the rule from writing.
    assert write_errno(d.block(NEW_BLOCK, "uevent"), b"add") == 3
    replay = hpfs.wait_until(lambda: [e for e in hpfs.read_events(log, "udev")
                                      if e["action"] == "add" and "SYNTH_UUID" in e["env"]],
                             what="the replayed add")
    assert replay[0]["attr_writes"] == []


def test_bare_rule_on_an_online_block(daemon, tmp_path):
    """udevd 252 writes ATTR values with WRITE_STRING_FILE_VERIFY_ON_FAILURE: the kernel's
    EINVAL for "online" to an online block is eaten because the file already reads online
    (`udevadm test` of this rule against the tree shows the same)."""
    d, log = start(daemon, tmp_path, rules_dir(tmp_path, BARE, "99-bare.rules"))
    assert write_errno(d.block(40, "uevent"), b"add") == 3  # memory40 is online
    add = udev_event(log, kernel_event(log, "add", 40)["seqnum"])
    assert [(w["attr"], w["error"]) for w in add["attr_writes"]] == [("state", "")]
    probe(d)
    wait_state(d, NEW_BLOCK, b"online\n")


def test_failing_attr_write_is_logged_and_processing_goes_on(daemon, tmp_path):
    text = ('SUBSYSTEM=="memory", ACTION=="add", ATTR{state}="online_kernel"\n'
            'SUBSYSTEM=="memory", ACTION=="add", ENV{AFTER}="yes"\n')
    rules = rules_dir(tmp_path, text, "99-kernel.rules")
    d, log = start(daemon, tmp_path, rules)
    assert write_errno(d.block(40, "uevent"), b"add") == 3  # online: the write fails EINVAL
    add = udev_event(log, kernel_event(log, "add", 40)["seqnum"])
    assert [(w["attr"], w["error"]) for w in add["attr_writes"]] == [("state", "EINVAL")]
    assert add["env"]["AFTER"] == "yes"
    text = daemon_log(tmp_path)
    assert "99-kernel.rules:1" in text and "Failed to write ATTR" in text, text
    assert "Invalid argument" in text
    # The daemon goes on: a hot-added block gets the same rule, which works on it.
    probe(d)
    wait_state(d, NEW_BLOCK, b"online\n")


def test_run_program_sees_the_event_and_the_emulated_tree(daemon, tmp_path):
    out = tmp_path / "run.out"
    # $$ is udev's literal $: the shell expands these from the program's environment.
    script = (f'echo $$ACTION $$DEVPATH $$SUBSYSTEM $$SEQNUM > {out}; '
              f'cat /sys$devpath/state >> {out}; '
              f'stat -c %%d /sys/devices/system/memory >> {out}')  # %% is udev's %
    rule = f'SUBSYSTEM=="memory", ACTION=="add", RUN+="/bin/sh -c \'{script}\'"\n'
    d, log = start(daemon, tmp_path, rules_dir(tmp_path, rule))
    probe(d)
    add = kernel_event(log, "add", NEW_BLOCK)
    processed = udev_event(log, add["seqnum"])
    assert [r["exit_code"] for r in processed["run"]] == [0], processed["run"]
    lines = out.read_text().splitlines()
    assert lines[0] == f"add /devices/system/memory/memory{NEW_BLOCK} memory {add['seqnum']}"
    assert lines[1] == "offline"
    assert int(lines[2]) == os.stat(d.mem()).st_dev  # the emulated tree, not the host's
    # The host's /sys was not touched by the RUN program's namespace.
    assert os.stat("/sys/devices/system/memory").st_dev != os.stat(d.mem()).st_dev


def test_slow_run_is_killed_and_does_not_block_the_mount(daemon, tmp_path):
    rule = 'SUBSYSTEM=="memory", ACTION=="add", RUN+="/bin/sleep 30"\n'
    d, log = start(daemon, tmp_path, rules_dir(tmp_path, rule), extra=("--run-timeout", "1"))
    probe(d)
    add = kernel_event(log, "add", NEW_BLOCK)
    t0 = time.monotonic()
    assert d.state(NEW_BLOCK) == b"offline\n"  # the mount answers while RUN sleeps
    assert time.monotonic() - t0 < 0.5
    processed = udev_event(log, add["seqnum"])
    assert processed["run"][0]["timed_out"] is True
    assert "timed out" in daemon_log(tmp_path)


def test_an_offline_that_never_finishes_is_interrupted_at_the_timeout(daemon, tmp_path):
    # memory36 of examples/devices.json never finishes migrating. udevd kills a worker at its
    # event timeout, which interrupts the write: EINTR, the block back online, and the
    # events after it are processed.
    rule = 'SUBSYSTEM=="memory", ACTION=="change", ATTR{state}="offline"\n'
    d, log = start(daemon, tmp_path, rules_dir(tmp_path, rule),
                   config=os.path.join(REPO, "examples", "devices.json"),
                   extra=("--run-timeout", "1"))
    assert write_errno(d.block(36, "uevent"), b"change") == 6
    change = udev_event(log, kernel_event(log, "change", 36)["seqnum"])
    assert [(w["attr"], w["error"]) for w in change["attr_writes"]] == [("state", "EINTR")]
    assert d.state(36) == b"online\n"
    assert write_errno(d.block(40, "uevent"), b"change") == 6
    udev_event(log, kernel_event(log, "change", 40)["seqnum"])
    wait_state(d, 40, b"offline\n")


def test_parse_error_names_file_and_line_and_the_rest_applies(daemon, tmp_path):
    text = ('SUBSYSTEM=="memory", BOGUS=="x", ATTR{state}="online_kernel"\n'
            'SUBSYSTEM=="memory", ACTION=="add", ATTR{state}=="offline", ATTR{state}="online"\n')
    rules = rules_dir(tmp_path, text, "50-broken.rules")
    d, _ = start(daemon, tmp_path, rules)
    assert f"{rules}/50-broken.rules:1" in daemon_log(tmp_path)
    probe(d)
    wait_state(d, NEW_BLOCK, b"online\n")


def test_missing_rules_dir_is_refused(tmp_path):
    missing = str(tmp_path / "nope")
    mnt = tmp_path / "sys"
    mnt.mkdir()
    r = hpfs.run([hpfs.daemon_executable(), "--rules-dir", missing, str(mnt)])
    assert r.returncode == 2
    assert f"--rules-dir {missing}: No such file or directory" in r.stderr
    assert not hpfs.is_mounted(str(mnt))


def test_no_rules_no_udev_lines(daemon, tmp_path):
    d, log = start(daemon, tmp_path)
    probe(d)
    kernel_event(log, "add", NEW_BLOCK)
    time.sleep(0.3)
    assert hpfs.read_events(log, "udev") == []
    assert d.state(NEW_BLOCK) == b"offline\n"


# --- real udev tools against the tree ---------------------------------------------------------------
def test_udevadm_trigger_replays_add_for_every_block(daemon, tmp_path, ns_run):
    d, log = start(daemon, tmp_path, rules_dir(tmp_path, "# nothing\n"))
    # sd-device refuses a syspath that is not on a sysfs file system unless told not to check.
    r = ns_run(d, "SYSTEMD_DEVICE_VERIFY_SYSFS=0 udevadm trigger --action=add "
                  "--subsystem-match=memory")
    assert r.returncode == 0, r.stderr
    expected = {f"/devices/system/memory/memory{n}" for n in hpfs.DefaultMachine.blocks}
    adds = hpfs.wait_until(
        lambda: (lambda got: got if got >= expected else None)(
            {e["devpath"] for e in hpfs.read_events(log) if e["action"] == "add"}),
        what="an add event for every block")
    assert adds == expected
    events = [e for e in hpfs.read_events(log) if e["action"] == "add"]
    assert all(e["env"]["SYNTH_UUID"] == "0" for e in events)
    seqnums = [e["seqnum"] for e in hpfs.read_events(log)]
    assert seqnums == sorted(seqnums) and len(set(seqnums)) == len(seqnums)


def test_udevadm_test_applies_the_shipped_rule_through_the_tree(daemon, tmp_path, ns_run):
    d, log = start(daemon, tmp_path)  # no rules in the daemon: real udev does the work
    block = 100
    assert d.state(block) == b"offline\n"
    rules = shlex.quote(SHIPPED)
    r = ns_run(d, f"mount --bind {rules} /etc/udev/rules.d && "
                  f"SYSTEMD_DEVICE_VERIFY_SYSFS=0 udevadm test --action=add "
                  f"/devices/system/memory/memory{block}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state(block) == b"online\n"
    kernel_event(log, "online", block)


def test_udevadm_monitor_in_the_private_netns(daemon, tmp_path):
    netns = str(tmp_path / "netns")
    d, log = start(daemon, tmp_path, SHIPPED, extra=("--udev-netns", netns))
    outputs = {"property": tmp_path / "monitor-property.out",
               "filtered": tmp_path / "monitor-filtered.out"}
    args = {"property": ["--property"], "filtered": ["--subsystem-match=memory"]}
    monitors = []
    try:
        for name, path in outputs.items():
            with open(path, "w") as out:
                monitors.append(subprocess.Popen(
                    ["nsenter", f"--net={netns}", "udevadm", "monitor", "--udev", *args[name]],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    env=hpfs.TOOL_ENV))
        for path in outputs.values():
            hpfs.wait_until(lambda: "UDEV - the event" in path.read_text(),
                            what="udevadm monitor to start")
        probe(d)
        wait_state(d, NEW_BLOCK, b"online\n")
        add = kernel_event(log, "add", NEW_BLOCK)
        online = kernel_event(log, "online", NEW_BLOCK)
        devpath = f"/devices/system/memory/memory{NEW_BLOCK}"
        for path in outputs.values():
            hpfs.wait_until(lambda: f"] online   {devpath} (memory)" in path.read_text(),
                            what=f"the online event in {path.name}")
    finally:
        for m in monitors:
            m.send_signal(signal.SIGTERM)
        for m in monitors:
            m.wait(timeout=10)
    text = outputs["property"].read_text()
    assert f"] add      {devpath} (memory)" in text
    assert f"SEQNUM={add['seqnum']}\n" in text and f"SEQNUM={online['seqnum']}\n" in text
    assert f"DEVPATH={devpath}\n" in text
    filtered = outputs["filtered"].read_text()
    assert f"] add      {devpath} (memory)" in filtered
    # The namespace's file goes with the daemon.
    d.kill(signal.SIGTERM)
    hpfs.wait_until(lambda: not d.running(), 10, what="the daemon to exit")
    assert not hpfs.is_mounted(netns) and not os.path.exists(netns)


def test_shutdown_kills_a_running_run_program(daemon, tmp_path):
    pidfile = tmp_path / "run.pid"
    # $$$$ is udev's $$: the shell's PID, written before the shell becomes a long sleep.
    rule = f'SUBSYSTEM=="memory", ACTION=="add", RUN+="/bin/sh -c \'echo $$$$ > {pidfile}; exec sleep 300\'"\n'
    d, _ = start(daemon, tmp_path, rules_dir(tmp_path, rule))
    probe(d)
    pid = int(hpfs.wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(),
                              what="the RUN program to start"))
    start_time = hpfs.proc_stat(pid)[1]
    t0 = time.monotonic()
    d.kill(signal.SIGTERM)
    hpfs.wait_until(lambda: not d.running(), 10, what="the daemon to exit")
    assert time.monotonic() - t0 < 10
    hpfs.wait_until(lambda: not hpfs.process_running(pid, start_time), 5,
                    what="the RUN program to be killed")


def test_hotplugctl_monitor_prints_udevadm_format(daemon, tmp_path):
    d, log = start(daemon, tmp_path, SHIPPED)
    probe(d)
    wait_state(d, NEW_BLOCK, b"online\n")
    online = kernel_event(log, "online", NEW_BLOCK)
    udev_event(log, online["seqnum"])
    proc = subprocess.Popen([hotplugctl(), "monitor", "--event-log", log, "--replay",
                             "--property"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGINT)
        text, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert text.startswith("monitor will print the received events for:\n"
                           "UDEV - the event which udev sends out after rule processing\n"
                           "KERNEL - the kernel uevent\n\n")
    devpath = f"/devices/system/memory/memory{NEW_BLOCK}"
    assert f"KERNEL[" in text and f"] add      {devpath} (memory)\nACTION=add\n" in text
    assert f"UDEV  [" in text
    assert f"SEQNUM={online['seqnum']}\n" in text
    r = hpfs.run([hotplugctl(), "monitor", "--event-log"])
    assert r.returncode == 2 and "--event-log needs a value" in r.stderr
    r = hpfs.run([hotplugctl(), "--root", "/nonexistent", "monitor"])
    assert r.returncode == 1 and "cannot reach hotplugfsd" in r.stderr
