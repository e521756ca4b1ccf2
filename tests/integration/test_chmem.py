"""util-linux chmem (which always uses /sys/devices/system/memory) against the default machine,
run in a private mount namespace where the emulated tree is bound over the host's sysfs.

chmem's rules (util-linux 2.38): blocks are visited in numeric order (from the top for -d with a
size); without -z a block is onlined with online_movable when its valid_zones lists Movable;
-z Movable writes online_movable, -z Normal writes online_kernel."""

import re

import pytest

import hpfs

M = hpfs.DefaultMachine
BS = hpfs.BLOCK_SIZE


@pytest.fixture
def machine(daemon):
    return daemon()


def chmem(d, args):
    r = hpfs.ns_run(d, f"chmem {args}")
    assert r.returncode == 0, f"chmem {args}: rc={r.returncode} stderr={r.stderr!r}"
    return r


def assert_changes(d, online_now, offline_now):
    """Exactly these blocks changed state relative to the default machine."""
    states = d.states()
    assert set(states) == set(M.blocks)
    expected_online = (M.online | set(online_now)) - set(offline_now)
    got_online = {n for n, s in states.items() if s == b"online\n"}
    got_offline = {n for n, s in states.items() if s == b"offline\n"}
    assert got_online - M.online == set(online_now) - M.online
    assert M.online - got_online == set(offline_now)
    assert got_online == expected_online
    assert got_offline == set(M.blocks) - expected_online


def lsmem_in_ns(d):
    """lsmem as seen inside the namespace (no --sysroot): {block: (state, node, zones)}."""
    r = hpfs.ns_run(d, "lsmem -a -r -n -o BLOCK,STATE,NODE,ZONES")
    assert r.returncode == 0, r.stderr
    return hpfs.lsmem_blocks(r.stdout)


def assert_lsmem_agrees(d, zones=None):
    rows = lsmem_in_ns(d)
    states = d.states()
    assert set(rows) == set(M.blocks), "lsmem in the namespace does not see the emulated tree"
    for n, s in states.items():
        assert rows[n][0] == s.decode().strip(), f"block {n}"
        assert rows[n][1] == M.node_of(n), f"block {n}"
    for n, zone in (zones or {}).items():
        assert rows[n][2] == zone, f"block {n}"
    return rows


def memtotal_kb(d, node):
    text = d.read(f"{hpfs.NODE}/node{node}/meminfo").decode()
    return int(re.search(rf"^Node {node} MemTotal:\s+(\d+) kB$", text, re.M).group(1))


def test_namespace_guard_sees_emulated_tree(machine):
    r = hpfs.ns_run(machine, "cat /sys/devices/system/memory/block_size_bytes; "
                             "ls /sys/devices/system/memory | grep -c '^memory[0-9]'")
    assert (r.returncode, r.stdout) == (0, f"8000000\n{len(M.blocks)}\n")


def test_enable_size(machine):
    before0, before1 = memtotal_kb(machine, 0), memtotal_kb(machine, 1)
    chmem(machine, "-e 1G")
    new = set(range(72, 80))  # the eight lowest offline blocks
    assert_changes(machine, new, ())
    for n in new:  # chmem prefers Movable when valid_zones offers it
        assert machine.read_mem(f"memory{n}/valid_zones") == b"Movable\n"
        assert machine.read_mem(f"memory{n}/online") == b"1\n"
    assert_lsmem_agrees(machine, {n: "Movable" for n in new})
    assert memtotal_kb(machine, 0) - before0 == 8 * BS // 1024
    assert memtotal_kb(machine, 1) == before1


def test_disable_size(machine):
    before1 = memtotal_kb(machine, 1)
    chmem(machine, "-d 512M")
    gone = set(range(68, 72))  # the four highest online blocks
    assert_changes(machine, (), gone)
    for n in gone:
        assert machine.read_mem(f"memory{n}/online") == b"0\n"
    assert_lsmem_agrees(machine)
    assert before1 - memtotal_kb(machine, 1) == 4 * BS // 1024


def test_enable_then_disable_blocks(machine):
    chmem(machine, "-e -b 80-83")
    assert_changes(machine, range(80, 84), ())
    assert_lsmem_agrees(machine, {n: "Movable" for n in range(80, 84)})
    chmem(machine, "-d -b 80-83")
    assert_changes(machine, (), ())
    assert_lsmem_agrees(machine)


def test_enable_address_range(machine):
    start, end = 96 * BS, 100 * BS - 1
    chmem(machine, f"-e 0x{start:x}-0x{end:x}")
    assert_changes(machine, range(96, 100), ())
    assert_lsmem_agrees(machine, {n: "Movable" for n in range(96, 100)})


def test_enable_zone_movable(machine):
    for n in (90, 91):
        assert machine.read_mem(f"memory{n}/valid_zones") == b"Normal Movable\n"
    chmem(machine, "-e -z Movable -b 90-91")
    assert_changes(machine, (90, 91), ())
    for n in (90, 91):
        assert machine.read_mem(f"memory{n}/valid_zones") == b"Movable\n"
    assert_lsmem_agrees(machine, {90: "Movable", 91: "Movable"})
    r = hpfs.ns_run(machine, "lsmem -o RANGE,STATE,BLOCK,ZONES")
    assert re.search(r"^0x00000002d0000000-0x00000002dfffffff\s+online\s+90-91\s+Movable$",
                     r.stdout, re.M), r.stdout


def test_enable_zone_normal(machine):
    chmem(machine, "-e -z Normal -b 92")
    assert_changes(machine, (92,), ())
    assert machine.read_mem("memory92/valid_zones") == b"Normal\n"
    assert_lsmem_agrees(machine, {92: "Normal"})
