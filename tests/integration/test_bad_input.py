"""Random writes to every writable file must never crash the daemon nor leave an inconsistent
tree. Any errno is acceptable for a write; what is checked afterwards is the invariant."""

import os
import random
import time

import hpfs
from hpfs import PARAMS

WRITES_PER_FILE = int(os.environ.get("HOTPLUGFS_FUZZ_WRITES", "1000"))
SEED = 20251123
FEW_BLOCKS = (0, 5, 40, 72, 135)


def random_payload(rng):
    # Lengths 0..8192, weighted towards short inputs, which reach deeper into the parsers.
    pick = rng.random()
    if pick < 0.5:
        n = rng.randint(0, 16)
    elif pick < 0.75:
        n = rng.randint(0, 256)
    else:
        n = rng.randint(0, 8192)
    data = rng.randbytes(n)
    if n and rng.random() < 0.3:  # sometimes printable, like a shell user's typo
        data = bytes(33 + b % 94 for b in data[:-1]) + b"\n"
    return data


def writable_files(d):
    files = [d.block(n, "state") for n in d.block_ids()]
    for n in FEW_BLOCKS:
        files += [d.block(n, "online"), d.block(n, "uevent")]
    files += [d.mem("auto_online_blocks"), d.mem("probe"), d.mem("uevent")]
    files += [d.path(f"{PARAMS}/{p}") for p in
              ("online_policy", "auto_movable_ratio", "auto_movable_numa_aware")]
    return files


def hammer(path, rng, count):
    errnos = {}
    fd = None
    for i in range(count):
        if fd is None or i % 64 == 0:
            if fd is not None:
                os.close(fd)
            flags = os.O_WRONLY | (os.O_TRUNC if (i // 64) % 2 else 0)
            fd = os.open(path, flags)
        try:
            os.write(fd, random_payload(rng))
        except OSError as exc:
            errnos[exc.errno] = errnos.get(exc.errno, 0) + 1
    if fd is not None:
        os.close(fd)
    return errnos


def test_random_writes_keep_the_tree_consistent(daemon):
    d = daemon()
    rng = random.Random(SEED)
    started = time.monotonic()
    files = writable_files(d)
    for path in files:
        hammer(path, rng, WRITES_PER_FILE)
        assert d.running(), f"daemon died while writing {path}; log:\n{d.log()}"
    elapsed = time.monotonic() - started

    assert d.running(), f"daemon died; log:\n{d.log()}"
    states = d.states()
    assert set(hpfs.DefaultMachine.blocks) <= set(states)
    for n, s in states.items():
        assert s in (b"online\n", b"offline\n"), f"memory{n}/state reads {s!r}"
        online = d.read_mem(f"memory{n}/online")
        assert online == (b"1\n" if s == b"online\n" else b"0\n"), f"memory{n}: {s!r} vs {online!r}"
        assert d.read_mem(f"memory{n}/phys_index") == b"%08x\n" % n
    assert d.read_mem("block_size_bytes") == b"8000000\n"
    assert d.read_mem("auto_online_blocks") in (
        b"offline\n", b"online\n", b"online_kernel\n", b"online_movable\n")
    assert d.read(f"{PARAMS}/online_policy") in (b"contig-zones\n", b"auto-movable\n")
    assert d.read(f"{PARAMS}/auto_movable_numa_aware") in (b"Y\n", b"N\n")
    assert d.read(f"{PARAMS}/auto_movable_ratio").rstrip(b"\n").isdigit()

    r = hpfs.run(["lsmem", "--sysroot", d.root, "-a", "-r", "-n", "-o", "BLOCK,STATE,NODE,ZONES"])
    assert (r.returncode, r.stderr) == (0, "")
    rows = hpfs.lsmem_blocks(r.stdout)
    assert {n: row[0] for n, row in rows.items()} == \
        {n: s.decode().strip() for n, s in states.items()}
    r = hpfs.run(["lsmem", "--sysroot", d.root])
    assert r.returncode == 0 and "Memory block size:       128M" in r.stdout
    print(f"{len(files)} files x {WRITES_PER_FILE} writes in {elapsed:.1f} s")
