"""devices/system/memory/probe on the default machine (probe enabled; free pluggable space
17-33 GiB on node 0 and 33-49 GiB on node 1; auto_online_blocks offline)."""

import os

import pytest

import hpfs
from hpfs import BUS, NODE, err, write_errno

BS = hpfs.BLOCK_SIZE
GiB = 1 << 30


@pytest.fixture
def machine(daemon):
    return daemon()


def probe(d, text):
    return write_errno(d.mem("probe"), text if isinstance(text, bytes) else text.encode())


def memory_entries(d):
    return sorted(os.listdir(d.mem()))


def assert_new_block(d, n, node):
    assert d.state(n) == b"offline\n"
    assert d.read_mem(f"memory{n}/online") == b"0\n"
    assert d.read_mem(f"memory{n}/phys_index") == b"%08x\n" % n
    assert os.readlink(d.block(n, f"node{node}")) == f"../../node/node{node}"
    assert not os.path.lexists(d.block(n, f"node{1 - node}"))
    assert os.readlink(d.block(n, "subsystem")) == "../../../../bus/memory"
    link = d.path(f"{NODE}/node{node}/memory{n}")
    assert os.readlink(link) == f"../../memory/memory{n}"
    assert f"memory{n}" in os.listdir(d.path(f"{NODE}/node{node}"))
    assert f"memory{n}" not in os.listdir(d.path(f"{NODE}/node{1 - node}"))
    bus = d.path(f"{BUS}/devices/memory{n}")
    assert os.readlink(bus) == f"../../../devices/system/memory/memory{n}"
    assert f"memory{n}" in os.listdir(d.path(f"{BUS}/devices"))
    assert os.path.samefile(bus, d.block(n))
    r = hpfs.run(["lsmem", "--sysroot", d.root, "-a", "-r", "-n", "-o", "RANGE,STATE,BLOCK,NODE"])
    start = n * BS
    row = f"0x{start:016x}-0x{start + BS - 1:016x} offline {n} {node}"
    assert row in r.stdout.splitlines(), r.stdout


def test_probe_creates_block(machine):
    d = machine
    assert not os.path.exists(d.block(136))  # also primes a negative lookup in the kernel cache
    before = memory_entries(d)
    assert probe(d, "0x440000000\n") == len("0x440000000\n")
    assert os.path.isdir(d.block(136))
    assert memory_entries(d) == sorted(before + ["memory136"])
    assert_new_block(d, 136, 0)
    st = os.stat(d.mem())
    subdirs = sum(1 for e in os.listdir(d.mem()) if os.path.isdir(d.mem(e)))
    assert st.st_nlink == subdirs + 2
    # nothing else changed
    states = d.states()
    assert {n for n, s in states.items() if s == b"online\n"} == hpfs.DefaultMachine.online


def test_probe_errors(machine):
    d = machine
    assert probe(d, "0x440000000\n") > 0
    before = memory_entries(d)
    assert probe(d, "0x440000000\n") == err("EEXIST")
    assert probe(d, "0x440001000\n") == err("EINVAL")     # not block aligned
    assert probe(d, "garbage\n") == err("EINVAL")
    assert probe(d, "0x\n") == err("EINVAL")
    assert probe(d, "") == 0
    assert probe(d, "0x1000000000\n") == err("E2BIG")     # 64 GiB: outside pluggable space
    assert memory_entries(d) == before


def test_probe_errors_via_echo(machine):
    d = machine
    r = hpfs.bash("echo 0x440000000 > probe", cwd=d.mem())
    assert (r.returncode, r.stderr) == (0, "")
    r = hpfs.bash("echo 0x440000000 > probe", cwd=d.mem())
    assert (hpfs.strip_bash_prefix(r.stderr), r.returncode) == ("echo: write error: File exists", 1)
    r = hpfs.bash("echo 0x440001000 > probe", cwd=d.mem())
    assert (hpfs.strip_bash_prefix(r.stderr), r.returncode) == (
        "echo: write error: Invalid argument", 1)
    r = hpfs.bash("echo 0x1000000000 > probe", cwd=d.mem())
    assert (hpfs.strip_bash_prefix(r.stderr), r.returncode) == (
        "echo: write error: Argument list too long", 1)


def test_probe_decimal_and_octal(machine):
    d = machine
    dec = 137 * BS
    octal = 138 * BS
    assert probe(d, f"{dec}\n") > 0
    assert probe(d, f"0{octal:o}\n") > 0
    assert probe(d, f"{dec}") == err("EEXIST")
    for n in (137, 138):
        assert_new_block(d, n, 0)
    assert not os.path.exists(d.block(136))


def test_probe_node1_range(machine):
    d = machine
    n = 33 * GiB // BS
    assert probe(d, f"0x{33 * GiB:x}") > 0
    assert_new_block(d, n, 1)


def test_probe_edges_of_pluggable_space(machine):
    d = machine
    last0 = 33 * GiB // BS - 1           # last block of node 0's pluggable space
    assert probe(d, f"0x{last0 * BS:x}") > 0
    assert_new_block(d, last0, 0)
    last1 = 49 * GiB // BS - 1
    assert probe(d, f"0x{last1 * BS:x}") > 0
    assert_new_block(d, last1, 1)
    assert probe(d, f"0x{49 * GiB:x}") == err("E2BIG")
    assert probe(d, f"0x{3 * GiB:x}") == err("E2BIG")    # the hole below 4 GiB is not pluggable


def test_probed_block_can_be_onlined(machine):
    d = machine
    assert probe(d, "0x440000000") > 0
    assert write_errno(d.block(136, "state"), b"online") == len(b"online")
    assert d.state(136) == b"online\n"
    assert d.read_mem("memory136/online") == b"1\n"
