"""Node accounting while blocks come and go: devices/system/node/has_memory lists nodes with online
memory, has_normal_memory nodes with online kernel-zone memory (ZONE_MOVABLE does not count);
nodeK/meminfo MemTotal follows the node's online memory."""

import os

import pytest

import hpfs
from hpfs import NODE, write_errno

BS = hpfs.BLOCK_SIZE
BLOCK_KB = BS >> 10

# Node 0: 4 GiB of boot memory (DMA, DMA32). Node 1: nothing but four hot-added offline blocks.
CONFIG = {
    "nodes": [{"id": 0, "cpus": "0-1"}, {"id": 1, "cpus": "2-3"}],
    "memory": [
        {"start": "0x0", "size": "4G", "node": 0},
        {"start": "0x100000000", "size": "512M", "node": 1, "hotplugged": True,
         "state": "offline"},
    ],
}
N1 = [32, 33, 34, 35]


@pytest.fixture(params=["exact", "fast"])
def machine(request, daemon, tmp_path):
    extra = ("--fast",) if request.param == "fast" else ()
    return daemon(config=hpfs.write_config(tmp_path, CONFIG), extra_args=extra)


def masks(d):
    return (d.read(f"{NODE}/has_memory"), d.read(f"{NODE}/has_normal_memory"),
            hpfs.memtotal_kb(d, 1))


def store(d, block, word):
    data = word.encode() + b"\n"
    assert write_errno(d.block(block, "state"), data) == len(data), (block, word)


def test_has_memory_and_has_normal_memory(machine):
    d = machine
    node0_total = hpfs.memtotal_kb(d, 0)
    for n in N1:
        assert os.readlink(d.block(n, "node1")) == "../../node/node1"
    assert masks(d) == (b"0\n", b"0\n", 0)
    assert d.read(f"{NODE}/online") == b"0-1\n"

    # ZONE_MOVABLE memory: node 1 has memory, but no normal memory
    store(d, 32, "online_movable")
    assert d.read_mem("memory32/valid_zones") == b"Movable\n"
    assert masks(d) == (b"0-1\n", b"0\n", BLOCK_KB)
    store(d, 33, "online_movable")
    assert masks(d) == (b"0-1\n", b"0\n", 2 * BLOCK_KB)

    # has_memory keeps node 1 until its last online block goes
    store(d, 32, "offline")
    assert masks(d) == (b"0-1\n", b"0\n", BLOCK_KB)
    store(d, 33, "offline")
    assert masks(d) == (b"0\n", b"0\n", 0)
    store(d, 33, "online_movable")
    assert masks(d) == (b"0-1\n", b"0\n", BLOCK_KB)

    # kernel-zone memory on node 1
    store(d, 32, "online_kernel")
    assert d.read_mem("memory32/valid_zones") == b"Normal\n"
    assert masks(d) == (b"0-1\n", b"0-1\n", 2 * BLOCK_KB)
    store(d, 32, "offline")
    assert masks(d) == (b"0-1\n", b"0\n", BLOCK_KB)     # only Movable left on node 1
    store(d, 33, "offline")
    assert masks(d) == (b"0\n", b"0\n", 0)

    # contig-zones `online` with no zone around: the kernel zone
    store(d, 34, "online")
    assert d.read_mem("memory34/valid_zones") == b"Normal\n"
    assert masks(d) == (b"0-1\n", b"0-1\n", BLOCK_KB)
    assert write_errno(d.block(34, "online"), b"0\n") == 2
    assert masks(d) == (b"0\n", b"0\n", 0)

    assert hpfs.memtotal_kb(d, 0) == node0_total  # node 0 never changed
