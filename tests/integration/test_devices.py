"""Memory devices (kernel/debug/hotplugfs/devices/<name>/plugged): plugging a DIMM with
auto_online_blocks=online_movable, unplugging it, and the rollback of an unplug that meets a block
with unmovable pages (spec §6). Events come from the daemon's --event-log."""

import os

import pytest

import hpfs
from hpfs import DEVICES, NODE, err, write_errno

BS = hpfs.BLOCK_SIZE
GiB = 1 << 30
KiB = 1 << 10

DIMM0 = list(range(32, 40))     # 1 GiB at 4 GiB, not plugged at start
DIMM1 = list(range(40, 44))     # 512 MiB at 5 GiB, plugged at start (offline)
UNMOVABLE = 42


def config(memmap):
    return {
        "nodes": [{"id": 0, "cpus": "0-1"}],
        "memory": [{"start": "0x0", "size": "4G", "node": 0}],
        "pluggable": [{"start": "0x100000000", "size": "8G", "node": 0}],
        "devices": [
            {"name": "dimm0", "kind": "dimm", "node": 0, "start": "0x100000000", "size": "1G"},
            {"name": "dimm1", "kind": "dimm", "node": 0, "start": "0x140000000", "size": "512M",
             "plugged": "512M"},
        ],
        # Faults need present blocks: dimm1's memory is plugged at start-up.
        "block_faults": [{"block": UNMOVABLE, "unmovable": True}],
        "parameters": {"auto_online_blocks": "online_movable", "memmap_on_memory": memmap},
    }


def memmap_kb(blocks, memmap):
    """The memmap a block carries itself with memmap_on_memory: 64 bytes per 4 KiB page."""
    return 0 if memmap == "N" else blocks * (BS // 4096) * 64 // KiB


@pytest.fixture(params=["N", "Y"], ids=["memmap-N", "memmap-Y"])
def machine(request, daemon, tmp_path):
    log = str(tmp_path / "events.jsonl")
    d = daemon(config=hpfs.write_config(tmp_path, config(request.param)),
               extra_args=("--event-log", log))
    return d, log, request.param


def plugged(d, name):
    return d.path(f"{DEVICES}/{name}/plugged")


def new_events(log, before):
    return hpfs.read_events(log)[before:]


def assert_event_sequence(events, expected, after_seqnum):
    """events are exactly `expected` [(action, block)], memory-subsystem events with strictly
    increasing seqnums above after_seqnum."""
    assert [(e["action"], hpfs.block_of(e)) for e in events] == expected
    last = after_seqnum
    for e in events:
        assert e["seqnum"] > last, events
        last = e["seqnum"]
        assert e["subsystem"] == "memory"
        assert e["env"] == {"ACTION": e["action"], "DEVPATH": e["devpath"],
                            "SUBSYSTEM": "memory", "SEQNUM": str(e["seqnum"])}


def last_seqnum(log):
    events = hpfs.read_events(log)
    return events[-1]["seqnum"] if events else 0


def test_dimm_plug_and_unplug(machine):
    d, log, memmap = machine
    assert d.read(f"{DEVICES}/dimm0/kind") == b"dimm\n"
    assert d.read(f"{DEVICES}/dimm0/plugged") == b"0\n"
    assert d.read_mem("auto_online_blocks") == b"online_movable\n"
    assert not any(os.path.exists(d.block(n)) for n in DIMM0)
    total = hpfs.memtotal_kb(d, 0)
    before, seq = len(hpfs.read_events(log)), last_seqnum(log)

    assert write_errno(plugged(d, "dimm0"), b"1G\n") == 3
    assert d.read(f"{DEVICES}/dimm0/plugged") == b"%d\n" % GiB
    # the kernel's order: one add per block (address order), then the auto-onlines
    assert_event_sequence(new_events(log, before),
                          [("add", n) for n in DIMM0] + [("online", n) for n in DIMM0], seq)
    for n in DIMM0:
        assert d.state(n) == b"online\n", n
        assert d.read_mem(f"memory{n}/valid_zones") == b"Movable\n", n
        assert os.readlink(d.path(f"{NODE}/node0/memory{n}")) == f"../../memory/memory{n}"
    grown = hpfs.memtotal_kb(d, 0) - total
    assert grown == GiB // KiB - memmap_kb(len(DIMM0), memmap)
    if memmap == "N":
        assert grown == GiB // KiB

    before, seq = len(hpfs.read_events(log)), last_seqnum(log)
    assert write_errno(plugged(d, "dimm0"), b"0\n") == 2
    assert d.read(f"{DEVICES}/dimm0/plugged") == b"0\n"
    assert_event_sequence(new_events(log, before),
                          [("offline", n) for n in DIMM0] + [("remove", n) for n in DIMM0], seq)
    listing = os.listdir(d.mem())
    node_listing = os.listdir(d.path(f"{NODE}/node0"))
    for n in DIMM0:
        assert not os.path.exists(d.block(n)), n
        assert f"memory{n}" not in listing
        assert f"memory{n}" not in node_listing
    assert hpfs.memtotal_kb(d, 0) == total


def test_dimm_unplug_rolls_back_on_unmovable_block(machine):
    d, log, memmap = machine
    for n in DIMM1:  # plugged at start-up, offline: online them all
        assert write_errno(d.block(n, "state"), b"online_movable\n") == len(b"online_movable\n")
    total = hpfs.memtotal_kb(d, 0)
    before, seq = len(hpfs.read_events(log)), last_seqnum(log)

    assert write_errno(plugged(d, "dimm1"), b"0\n") == err("EBUSY")
    r = hpfs.bash(f"echo 0 > {plugged(d, 'dimm1')}")
    assert (r.returncode, hpfs.strip_bash_prefix(r.stderr)) == (
        1, "echo: write error: Device or resource busy")

    assert d.read(f"{DEVICES}/dimm1/plugged") == b"%d\n" % (512 << 20)
    for n in DIMM1:
        assert os.path.isdir(d.block(n)), n
        assert d.state(n) == b"online\n", n
        assert d.read_mem(f"memory{n}/online") == b"1\n", n
    assert hpfs.memtotal_kb(d, 0) == total

    # Each attempt offlined the blocks below the unmovable one, then onlined them again.
    events = new_events(log, before)
    below = [n for n in DIMM1 if n < UNMOVABLE]
    attempt = [("offline", n) for n in below] + [("online", n) for n in below]
    assert_event_sequence(events, attempt + attempt, seq)
    assert not any(e["action"] == "remove" for e in events)
