"""util-linux lsmem (--sysroot) on the reference machine prints exactly what it printed on the
real 6.18 kernel (outputs copied from the reference capture)."""

import pytest

import hpfs

# $ lsmem
LSMEM = """\
RANGE                                 SIZE  STATE REMOVABLE  BLOCK
0x0000000000000000-0x00000000bfffffff   3G online       yes   0-23
0x0000000100000000-0x000000063fffffff  21G online       yes 32-199

Memory block size:       128M
Total online memory:      24G
Total offline memory:      0B
"""

# $ lsmem -o RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES
LSMEM_ZONES = """\
RANGE                                  SIZE  STATE REMOVABLE  BLOCK NODE  ZONES
0x0000000000000000-0x0000000007ffffff  128M online       yes      0    0   None
0x0000000008000000-0x00000000bfffffff  2.9G online       yes   1-23    0  DMA32
0x0000000100000000-0x000000063fffffff   21G online       yes 32-199    0 Normal

Memory block size:       128M
Total online memory:      24G
Total offline memory:      0B
"""

# $ lsmem -J -o RANGE,SIZE,STATE,BLOCK,NODE,ZONES
LSMEM_JSON = """\
{
   "memory": [
      {
         "range": "0x0000000000000000-0x0000000007ffffff",
         "size": "128M",
         "state": "online",
         "block": "0",
         "node": 0,
         "zones": "None"
      },{
         "range": "0x0000000008000000-0x00000000bfffffff",
         "size": "2.9G",
         "state": "online",
         "block": "1-23",
         "node": 0,
         "zones": "DMA32"
      },{
         "range": "0x0000000100000000-0x000000063fffffff",
         "size": "21G",
         "state": "online",
         "block": "32-199",
         "node": 0,
         "zones": "Normal"
      }
   ]
}
"""

# $ lsmem -a -b -r -o RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES | head -30
LSMEM_ALL_BYTES_RAW = """\
RANGE SIZE STATE REMOVABLE BLOCK NODE ZONES
0x0000000000000000-0x0000000007ffffff 134217728 online yes 0 0 None
0x0000000008000000-0x000000000fffffff 134217728 online yes 1 0 DMA32
0x0000000010000000-0x0000000017ffffff 134217728 online yes 2 0 DMA32
0x0000000018000000-0x000000001fffffff 134217728 online yes 3 0 DMA32
0x0000000020000000-0x0000000027ffffff 134217728 online yes 4 0 DMA32
0x0000000028000000-0x000000002fffffff 134217728 online yes 5 0 DMA32
0x0000000030000000-0x0000000037ffffff 134217728 online yes 6 0 DMA32
0x0000000038000000-0x000000003fffffff 134217728 online yes 7 0 DMA32
0x0000000040000000-0x0000000047ffffff 134217728 online yes 8 0 DMA32
0x0000000048000000-0x000000004fffffff 134217728 online yes 9 0 DMA32
0x0000000050000000-0x0000000057ffffff 134217728 online yes 10 0 DMA32
0x0000000058000000-0x000000005fffffff 134217728 online yes 11 0 DMA32
0x0000000060000000-0x0000000067ffffff 134217728 online yes 12 0 DMA32
0x0000000068000000-0x000000006fffffff 134217728 online yes 13 0 DMA32
0x0000000070000000-0x0000000077ffffff 134217728 online yes 14 0 DMA32
0x0000000078000000-0x000000007fffffff 134217728 online yes 15 0 DMA32
0x0000000080000000-0x0000000087ffffff 134217728 online yes 16 0 DMA32
0x0000000088000000-0x000000008fffffff 134217728 online yes 17 0 DMA32
0x0000000090000000-0x0000000097ffffff 134217728 online yes 18 0 DMA32
0x0000000098000000-0x000000009fffffff 134217728 online yes 19 0 DMA32
0x00000000a0000000-0x00000000a7ffffff 134217728 online yes 20 0 DMA32
0x00000000a8000000-0x00000000afffffff 134217728 online yes 21 0 DMA32
0x00000000b0000000-0x00000000b7ffffff 134217728 online yes 22 0 DMA32
0x00000000b8000000-0x00000000bfffffff 134217728 online yes 23 0 DMA32
0x0000000100000000-0x0000000107ffffff 134217728 online yes 32 0 Normal
0x0000000108000000-0x000000010fffffff 134217728 online yes 33 0 Normal
0x0000000110000000-0x0000000117ffffff 134217728 online yes 34 0 Normal
0x0000000118000000-0x000000011fffffff 134217728 online yes 35 0 Normal
0x0000000120000000-0x0000000127ffffff 134217728 online yes 36 0 Normal
"""


@pytest.fixture(scope="module")
def ref(module_daemon):
    return module_daemon(config=hpfs.REFERENCE_CONFIG)


def lsmem(d, args):
    r = hpfs.run(f"lsmem --sysroot {d.root} {args}", shell=True)
    assert r.stderr == ""
    return r.stdout


def test_lsmem_default(ref):
    assert lsmem(ref, "") == LSMEM


def test_lsmem_zones(ref):
    assert lsmem(ref, "-o RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES") == LSMEM_ZONES


def test_lsmem_json(ref):
    assert lsmem(ref, "-J -o RANGE,SIZE,STATE,BLOCK,NODE,ZONES") == LSMEM_JSON


def test_lsmem_all_bytes_raw(ref):
    out = lsmem(ref, "-a -b -r -o RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES | head -30")
    assert out == LSMEM_ALL_BYTES_RAW


def test_lsmem_all_blocks(ref):
    """Every block, not only the first 30 lines: one row each, all online, node 0."""
    rows = hpfs.lsmem_blocks(lsmem(ref, "-a -r -n -o BLOCK,STATE,NODE,ZONES"))
    zones = {n: ("None" if n == 0 else "DMA32" if n < 24 else "Normal")
             for n in hpfs.ReferenceMachine.blocks}
    assert rows == {n: ("online", 0, zones[n]) for n in hpfs.ReferenceMachine.blocks}
