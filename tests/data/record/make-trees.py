#!/usr/bin/python3
"""Writes the small captured memory sysfs trees that `hotplugctl record` is tested on, one per
directory next to this file (NAME/sys/...), in the layout a real kernel has. Run it again after
changing a machine below; the trees are committed."""

import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
M = 1 << 20
G = 1 << 30


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def link(path, target):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(target, path)


def tree(name, block_size, blocks, nodes=None, probe=False, params=None, phys_unit=0):
    """blocks: {id: (state, valid_zones, node)}; nodes: {id: (cpulist, distance, used_kb)}
    or None for a tree without devices/system/node."""
    root = os.path.join(HERE, name, "sys")
    shutil.rmtree(os.path.join(HERE, name), ignore_errors=True)
    mem = os.path.join(root, "devices/system/memory")
    write(f"{mem}/block_size_bytes", f"{block_size:x}\n")
    write(f"{mem}/auto_online_blocks", "offline\n")
    write(f"{mem}/uevent", "")
    if probe:
        write(f"{mem}/probe", "")
    for n, (state, zones, node) in sorted(blocks.items()):
        d = f"{mem}/memory{n}"
        write(f"{d}/state", state + "\n")
        write(f"{d}/online", ("0" if state == "offline" else "1") + "\n")
        write(f"{d}/valid_zones", zones + "\n")
        write(f"{d}/removable", "1\n")
        write(f"{d}/phys_index", f"{n:08x}\n")
        write(f"{d}/phys_device", f"{n * block_size // phys_unit if phys_unit else 0}\n")
        write(f"{d}/uevent", "")
        link(f"{d}/node{node}", f"../../node/node{node}")
    if nodes is not None:
        nd = os.path.join(root, "devices/system/node")
        ids = ",".join(str(i) for i in sorted(nodes))
        for f in ("online", "possible", "has_memory", "has_normal_memory"):
            write(f"{nd}/{f}", ids + "\n")
        for k, (cpus, distance, used_kb) in nodes.items():
            total = sum(block_size for s, _, node in blocks.values()
                        if node == k and s == "online") // 1024
            write(f"{nd}/node{k}/cpulist", cpus + "\n")
            write(f"{nd}/node{k}/distance", distance + "\n")
            write(f"{nd}/node{k}/meminfo",
                  f"Node {k} MemTotal:       {total:8d} kB\n"
                  f"Node {k} MemFree:        {total - used_kb:8d} kB\n"
                  f"Node {k} MemUsed:        {used_kb:8d} kB\n")
            for n, (_, _, node) in blocks.items():
                if node == k:
                    link(f"{nd}/node{k}/memory{n}", f"../../memory/memory{n}")
    p = os.path.join(root, "module/memory_hotplug/parameters")
    for key, value in (params or {}).items():
        write(f"{p}/{key}", value + "\n")


DEFAULT_PARAMS = {"online_policy": "contig-zones", "auto_movable_ratio": "301",
                  "auto_movable_numa_aware": "Y", "memmap_on_memory": "N"}


def x86_64():
    """Two nodes, memory0 in two zones, the PCI hole (no blocks 16-31), an offlined block in
    the middle of node 0's Normal memory and offline hot-added memory on both nodes."""
    b = {0: ("online", "none", 0)}
    b.update({n: ("online", "DMA32", 0) for n in range(1, 16)})
    b.update({n: ("online", "Normal", 0) for n in range(32, 40)})
    b[36] = ("offline", "Normal Movable", 0)
    b.update({n: ("online", "Normal", 1) for n in range(40, 48)})
    b.update({n: ("offline", "Normal Movable", 0) for n in range(48, 52)})
    b.update({n: ("offline", "Normal Movable", 1) for n in range(52, 56)})
    tree("x86_64", 128 * M, b, {0: ("0-1", "10 21", 181240), 1: ("2-3", "21 10", 65536)},
         probe=True, params=dict(DEFAULT_PARAMS, auto_movable_max_kernel_mib="0"))


def s390x():
    """256 MiB blocks and storage increments, DMA below 2 GiB, Normal above, standby memory
    (offline) above that; no NUMA directory, no probe."""
    b = {n: ("online", "DMA", 0) for n in range(0, 8)}
    b.update({n: ("online", "Normal", 0) for n in range(8, 16)})
    b.update({n: ("offline", "Normal Movable", 0) for n in range(16, 24)})
    tree("s390x", 256 * M, b, None, params=DEFAULT_PARAMS, phys_unit=256 * M)


def arm64():
    """16K pages: 512 MiB blocks; RAM from 1 GiB; DMA32 below 4 GiB, Normal above, hot-added
    memory onlined movable with one block offlined inside it, and offline memory on top."""
    b = {n: ("online", "DMA32", 0) for n in range(2, 8)}
    b.update({n: ("online", "Normal", 0) for n in range(8, 16)})
    b.update({n: ("online", "Movable", 0) for n in (16, 17, 19)})
    b[18] = ("offline", "Movable Normal", 0)
    b.update({n: ("offline", "Normal Movable", 0) for n in range(20, 24)})
    tree("arm64", 512 * M, b, {0: ("0-7", "10", 262144)},
         params=dict(DEFAULT_PARAMS, online_policy="contig-zones"))


if __name__ == "__main__":
    x86_64()
    s390x()
    arm64()
