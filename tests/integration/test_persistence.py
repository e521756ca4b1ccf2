"""--state FILE: the machine survives a SIGKILL and a restart byte for byte (every file of the
memory, node and parameter trees, lsmem's view) and SEQNUMs continue; a damaged, foreign or
other-version state file is refused with one line and exit code 2, and left untouched."""

import json
import os
import signal

import pytest

import hpfs
from hpfs import DEVICES, INJECT, MEM, NODE, PARAMS, err, write_errno

DEVICES_CONFIG = os.path.join(hpfs.REPO, "examples", "devices.json")
TREES = (MEM, NODE, PARAMS, "kernel/debug")
GiB = 1 << 30


def walk(d):
    """{relative path: ('file', bytes or -errno) | ('link', target) | ('dir',)} for every entry
    under the trees that carry state."""
    out = {}
    for tree in TREES:
        top = d.path(tree)
        for dirpath, dirnames, filenames in os.walk(top):
            rel_dir = os.path.relpath(dirpath, d.sys)
            out[rel_dir] = ("dir",)
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                rel = os.path.join(rel_dir, name)
                if os.path.islink(full):
                    out[rel] = ("link", os.readlink(full))
                elif name in filenames:
                    try:
                        with open(full, "rb") as f:
                            out[rel] = ("file", f.read())
                    except OSError as exc:
                        out[rel] = ("file", -exc.errno)
    return out


def lsmem(d):
    r = hpfs.run(["lsmem", "--sysroot", d.root, "-a", "-o",
                  "RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES"])
    assert r.returncode == 0, r.stderr
    return r.stdout


def write(d, rel, data):
    assert write_errno(d.path(rel), data) == len(data), (rel, data)


def last_seqnum(log):
    return max(e["seqnum"] for e in hpfs.read_events(log))


def kill_hard(d):
    assert d.kill(signal.SIGKILL)
    assert hpfs.wait_exit(d.pid, d.starttime, 5.0), "SIGKILLed daemon did not exit"
    d.stopped = True


def change_everything(d):
    """Blocks online and offline in chosen zones, a probe, device plugs, parameters, an armed
    notifier error and a poisoned page."""
    write(d, f"{MEM}/memory72/state", b"online_movable\n")
    write(d, f"{MEM}/memory73/state", b"online_kernel\n")
    write(d, f"{MEM}/memory40/state", b"offline\n")
    write(d, f"{MEM}/probe", b"0x200000000\n")              # memory64, auto-onlined
    write(d, f"{DEVICES}/dimm1/plugged", b"%d\n" % GiB)       # memory80-87
    write(d, f"{DEVICES}/vmem0/plugged", b"%d\n" % (2 * GiB))  # memory136-151
    write(d, f"{MEM}/auto_online_blocks", b"offline\n")
    write(d, f"{PARAMS}/auto_movable_ratio", b"200\n")
    write(d, f"{MEM}/hard_offline_page", b"0x240005000\n")    # a page of memory72
    write(d, f"{INJECT}/MEM_GOING_ONLINE/error", b"-12\n")


@pytest.fixture
def paths(tmp_path):
    return str(tmp_path / "state.json"), str(tmp_path / "events.jsonl")


def test_sigkill_and_restart_keep_the_machine(daemon, paths):
    state, log = paths
    args = ("--state", state, "--event-log", log)
    first = daemon(config=DEVICES_CONFIG, extra_args=args)
    assert os.path.exists(state), "the state file is created on the first start"
    fresh = walk(first)
    change_everything(first)
    assert write_errno(first.block(74, "state"), b"online\n") == err("ENOMEM")  # armed
    before, before_lsmem, seq = walk(first), lsmem(first), last_seqnum(log)
    assert before != fresh
    kill_hard(first)

    second = daemon(config=DEVICES_CONFIG, extra_args=args, root=first.root)
    after = walk(second)
    assert sorted(after) == sorted(before)
    assert {k: v for k, v in after.items() if v != before[k]} == {}
    assert lsmem(second) == before_lsmem
    # The next event's SEQNUM continues the sequence.
    write(second, f"{MEM}/memory73/state", b"offline\n")
    new = [e for e in hpfs.read_events(log) if e["seqnum"] > seq]
    assert [(e["action"], e["devpath"]) for e in new] == [
        ("offline", "/devices/system/memory/memory73")]
    assert len({e["seqnum"] for e in hpfs.read_events(log)}) == len(hpfs.read_events(log))


def test_devices_added_at_runtime_survive_a_restart(daemon, paths):
    state, log = paths
    args = ("--state", state, "--event-log", log)
    first = daemon(config=DEVICES_CONFIG, extra_args=args)
    ctl = os.path.join(os.path.dirname(hpfs.daemon_executable()), "hotplugctl")
    for plug in (["--size", "1G"], ["--kind", "virtio-mem", "--node", "1", "--size", "2G",
                                    "--requested", "512M", "--name", "vm9"]):
        r = hpfs.run([ctl, "--root", first.root, "plug", *plug])
        assert r.returncode == 0, r.stderr
    with open(state) as f:
        saved = json.load(f)
    assert [x["name"] for x in saved["devices"] if x.get("added")] == ["dimm2", "vm9"]
    before, before_lsmem = walk(first), lsmem(first)
    kill_hard(first)

    second = daemon(config=DEVICES_CONFIG, extra_args=args, root=first.root)
    assert walk(second) == before
    assert lsmem(second) == before_lsmem
    # Restored devices behave as added ones: unplugging removes them.
    r = hpfs.run([ctl, "--root", second.root, "unplug", "dimm2"])
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(second.path(DEVICES))) == ["dimm0", "dimm1", "vm9", "vmem0"]


DEMOTION = "kernel/mm/numa/demotion_enabled"


def test_demotion_enabled_survives_a_restart_and_old_files_read_false(daemon, paths):
    state, _ = paths
    first = daemon(extra_args=("--state", state))
    assert open(first.path(DEMOTION)).read() == "false\n"
    write(first, DEMOTION, b"1\n")
    with open(state) as f:
        assert json.load(f)["demotion_enabled"] is True  # on disk before the write returned
    kill_hard(first)

    second = daemon(extra_args=("--state", state), root=first.root)
    assert open(second.path(DEMOTION)).read() == "true\n"
    kill_hard(second)
    # A file written before the member existed starts with demotion off, as after a boot.
    with open(state) as f:
        doc = json.load(f)
    del doc["demotion_enabled"]
    with open(state, "w") as f:
        json.dump(doc, f)
    third = daemon(extra_args=("--state", state), root=first.root)
    assert open(third.path(DEMOTION)).read() == "false\n"


def test_every_write_is_on_disk_before_it_returns(daemon, paths):
    state, _ = paths
    d = daemon(extra_args=("--state", state))
    for block, word in ((72, "online_movable"), (104, "online_kernel"), (5, "offline")):
        write(d, f"{MEM}/memory{block}/state", word.encode() + b"\n")
        with open(state) as f:
            doc = json.load(f)
        runs = [r for r in doc["blocks"] if r["first"] <= block < r["first"] + r["count"]]
        assert len(runs) == 1 and runs[0]["state"] == word.split("_")[0], (block, runs)
    assert [n for n in os.listdir(os.path.dirname(state)) if n.startswith(".")] == [], \
        "no temporary file is left behind"


def test_missing_directory_is_refused_and_leftovers_are_removed(tmp_path, daemon, paths):
    state, _ = paths
    message = start_refused(tmp_path, str(tmp_path / "nowhere" / "state.json"))
    assert "cannot create" in message, message
    # What a daemon killed in the middle of a write leaves behind goes on the next start.
    leftover = os.path.join(os.path.dirname(state), ".state.json.AbC123")
    with open(leftover, "w") as f:
        f.write("{")
    daemon(extra_args=("--state", state))
    assert not os.path.exists(leftover)
    assert os.path.exists(state)


def test_sigterm_restart_without_config_keeps_the_default_machine(daemon, paths):
    state, _ = paths
    first = daemon(extra_args=("--state", state))
    write(first, f"{MEM}/memory72/state", b"online_movable\n")
    write(first, f"{PARAMS}/online_policy", b"auto-movable\n")
    before = walk(first)
    assert first.kill(signal.SIGTERM)
    assert hpfs.wait_exit(first.pid, first.starttime, 5.0)
    first.stopped = True
    second = daemon(extra_args=("--state", state), root=first.root)
    assert walk(second) == before


# --- refusals ------------------------------------------------------------------------------------
def start_refused(tmp_path, state, config=None):
    """Runs hotplugfsd with --state and expects a refusal; returns its stderr."""
    mnt = tmp_path / "mnt"
    mnt.mkdir(exist_ok=True)
    pid_file = tmp_path / "refused.pid"
    args = [hpfs.daemon_executable(), "--state", state, "--pid-file", str(pid_file)]
    if config:
        args += ["--config", config]
    r = hpfs.run(args + [str(mnt)], timeout=30)
    if r.returncode == 0:  # started after all: stop it before failing
        pid = int(pid_file.read_text())
        st = hpfs.proc_stat(pid)
        os.kill(pid, signal.SIGTERM)
        if st:
            hpfs.wait_exit(pid, st[1], 5.0)
        hpfs.lazy_unmount(str(mnt))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"hotplugfsd: {state}: "), r.stderr
    assert not hpfs.is_mounted(str(mnt))
    return r.stderr


@pytest.fixture
def saved_state(daemon, paths):
    """A good state file of the built-in machine with some changes, daemon stopped."""
    state, _ = paths
    d = daemon(extra_args=("--state", state))
    write(d, f"{MEM}/memory72/state", b"online_movable\n")
    kill_hard(d)
    with open(state, "rb") as f:
        return state, f.read()


def refuse_and_keep(tmp_path, state, content, config=None):
    with open(state, "wb") as f:
        f.write(content)
    message = start_refused(tmp_path, state, config)
    with open(state, "rb") as f:
        assert f.read() == content, "a refused state file must stay untouched"
    return message


def test_truncated_state_is_refused(tmp_path, saved_state):
    state, good = saved_state
    message = refuse_and_keep(tmp_path, state, good[:len(good) // 2])
    assert "line " in message and "not valid JSON" in message, message


def test_garbage_state_is_refused(tmp_path, saved_state):
    state, _ = saved_state
    message = refuse_and_keep(tmp_path, state, b"\x00\x01garbage{")
    assert "not valid JSON" in message, message
    message = refuse_and_keep(tmp_path, state, b"[1, 2]\n")
    assert message == f"hotplugfsd: {state}: /: expected an object, got an array\n"


def test_other_format_version_is_refused(tmp_path, saved_state):
    state, good = saved_state
    doc = json.loads(good)
    doc["format"] = 2
    doc["something_new"] = True
    message = refuse_and_keep(tmp_path, state, json.dumps(doc).encode())
    assert message == (f"hotplugfsd: {state}: /format: format 2 is not supported "
                       "(this hotplugfsd reads format 1)\n")


def test_damaged_field_is_named(tmp_path, saved_state):
    state, good = saved_state
    doc = json.loads(good)
    doc["blocks"][3]["zone"] = "Highmem"
    message = refuse_and_keep(tmp_path, state, json.dumps(doc).encode())
    assert message.startswith(f"hotplugfsd: {state}: /blocks/3/zone: unknown value"), message


def test_impossible_machine_is_refused(tmp_path, saved_state):
    """Values no machine can hold, as a hand edit or damage leaves them, are refused at their
    field with the reason: a DMA zone at 4 GiB, a block caught going offline, a SEQNUM that
    would wrap around to 0."""
    state, good = saved_state
    doc = json.loads(good)
    run = next(i for i, r in enumerate(doc["blocks"]) if r["first"] == 32)
    assert doc["blocks"][run]["count"] == 8 and doc["blocks"][run]["zone"] == "Normal"

    def edited(pointer, value):
        changed = json.loads(good)
        *parents, last = pointer.split("/")[1:]
        target = changed
        for key in parents:
            target = target[int(key) if isinstance(target, list) else key]
        target[last] = value
        return json.dumps(changed).encode()

    for pointer, value, reason in (
            (f"/blocks/{run}/zone", "DMA", "blocks 32..39 [0x100000000, 0x140000000) reach "
                                           "above the DMA limit 0x1000000 of x86_64"),
            (f"/blocks/{run}/state", "going-offline",
             "going-offline is a transient state, which a state file never keeps (an offline "
             "still migrating has not completed: its blocks are \"online\")"),
            ("/seqnum", 2**64 - 1, "18446744073709551615 is out of range (at most 2^63-1 = "
                                   "9223372036854775807, so that the counter never wraps around)")):
        message = refuse_and_keep(tmp_path, state, edited(pointer, value))
        assert message == f"hotplugfsd: {state}: {pointer}: {reason}\n"


def test_state_of_another_configuration_is_refused(tmp_path, saved_state):
    state, good = saved_state
    config = hpfs.write_config(tmp_path, {
        "block_size": "256M",
        "nodes": [{"id": 0}],
        "memory": [{"start": "0x0", "size": "4G"}],
    })
    message = refuse_and_keep(tmp_path, state, good, config=config)
    assert message.startswith(f"hotplugfsd: {state}: /block_size: "), message
    message = refuse_and_keep(tmp_path, state, good, config=DEVICES_CONFIG)
    assert f"hotplugfsd: {state}: /" in message and "configur" in message, message


# --- a full disk -----------------------------------------------------------------------------------
@pytest.fixture
def small_fs(tmp_path):
    """A 1 MiB tmpfs, and a way to fill it up and to free it again."""
    with hpfs.small_tmpfs(tmp_path / "small", "1m") as fs:
        yield fs


def test_a_change_that_cannot_be_persisted_does_not_happen(daemon, small_fs, tmp_path):
    mnt, fill, free = small_fs
    state, log = str(mnt / "state.json"), str(tmp_path / "events.jsonl")
    daemon_log = tmp_path / "daemon.log"
    args = ("--state", state, "--event-log", log, "--log-file", str(daemon_log))
    d = daemon(config=DEVICES_CONFIG, extra_args=args)
    ctl = os.path.join(os.path.dirname(hpfs.daemon_executable()), "hotplugctl")
    write(d, f"{MEM}/memory72/state", b"online\n")
    seq = last_seqnum(log)
    fill()
    with open(state, "rb") as f:
        saved = f.read()
    before = walk(d)
    # A write through the mount, a probe, a device plug and a D-Bus method: each fails with
    # ENOSPC, and nothing changes or is announced.
    assert write_errno(d.block(73, "state"), b"online\n") == err("ENOSPC")
    assert write_errno(d.path(f"{MEM}/probe"), b"0x200000000\n") == err("ENOSPC")
    assert write_errno(d.path(f"{DEVICES}/dimm1/plugged"), b"%d\n" % GiB) == err("ENOSPC")
    r = hpfs.run([ctl, "--root", d.root, "plug", "--size", "1G"])
    assert r.returncode != 0 and "No space left on device" in r.stderr, r
    r = hpfs.run([ctl, "--root", d.root, "online", "73"])
    assert r.returncode != 0, r
    assert walk(d) == before
    assert last_seqnum(log) == seq
    with open(state, "rb") as f:
        assert f.read() == saved
    assert daemon_log.read_text().count("changes fail until it can be written") == 1
    # Space again: the same write succeeds, with the next SEQNUM.
    free()
    write(d, f"{MEM}/memory73/state", b"online\n")
    assert d.state(73) == b"online\n"
    assert [e["seqnum"] for e in hpfs.read_events(log) if e["seqnum"] > seq] == [seq + 1]
    assert "written again" in daemon_log.read_text()
    # SIGKILL and a restart: the machine as it was, and SEQNUMs never handed out twice.
    kill_hard(d)
    second = daemon(config=DEVICES_CONFIG, extra_args=args, root=d.root)
    assert second.state(73) == b"online\n"
    write(second, f"{MEM}/memory73/state", b"offline\n")
    seqnums = [e["seqnum"] for e in hpfs.read_events(log)]
    assert len(seqnums) == len(set(seqnums)) and seqnums[-1] == seq + 2
