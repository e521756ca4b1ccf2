"""NUMA topology readers, unmodified, inside `hotplugctl run`: hwloc's lstopo and numactl see the
configured machine whole — its CPUs, its nodes with their memory and distances — and follow
memory as it comes and goes."""

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

import hpfs

REPO = hpfs.REPO
GIB = 1 << 30
MIB = 1 << 20


def ctl_path():
    return os.path.join(os.path.dirname(hpfs.daemon_executable()), "hotplugctl")


def run(*args, timeout=120):
    return subprocess.run([ctl_path(), "run", "--daemon", hpfs.daemon_executable(), *args],
                          capture_output=True, text=True, timeout=timeout, env=hpfs.TOOL_ENV)


@pytest.fixture(autouse=True)
def clients():
    for tool in ("lstopo-no-graphics", "numactl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: scripts/install-deps.sh installs it")


def lstopo_xml(*run_args):
    # The configured CPUs and nodes are outside this process's cpuset (the host's), so hwloc
    # counts them as disallowed: --disallowed shows the whole machine.
    r = run(*run_args, "--", "lstopo-no-graphics", "--disallowed", "--of", "xml")
    assert r.returncode == 0, r.stderr
    return ET.fromstring(r.stdout)


def objects(root, kind):
    return [o for o in root.iter("object") if o.get("type") == kind]


def numactl_hardware(text):
    """{node: (cpus, size MB)} and the distance matrix of `numactl --hardware`."""
    nodes = {}
    for m in re.finditer(r"^node (\d+) cpus:(.*)$", text, re.M):
        nodes[int(m.group(1))] = [int(c) for c in m.group(2).split()]
    sizes = {int(m.group(1)): int(m.group(2))
             for m in re.finditer(r"^node (\d+) size: (\d+) MB$", text, re.M)}
    distances = [[int(v) for v in m.group(1).split()]
                 for m in re.finditer(r"^ +\d+: +([\d ]+)$", text, re.M)]
    return {n: (nodes[n], sizes[n]) for n in nodes}, distances


def test_lstopo_sees_every_node_with_its_cpus_and_memory():
    root = lstopo_xml()
    nodes = {int(o.get("os_index")): int(o.get("local_memory")) for o in objects(root, "NUMANode")}
    assert nodes == {0: 4 * GIB, 1: 4 * GIB}  # boot memory; the hot-added 4 GiB are offline
    pus = sorted(int(o.get("os_index")) for o in objects(root, "PU"))
    assert pus == [0, 1, 2, 3]
    # One package per node, holding the node's CPUs.
    packages = {int(o.get("os_index")): o for o in objects(root, "Package")}
    assert sorted(packages) == [0, 1]
    for index, cpus in ((0, [0, 1]), (1, [2, 3])):
        inside = sorted(int(o.get("os_index")) for o in objects(packages[index], "PU"))
        assert inside == cpus
        assert [int(o.get("os_index")) for o in objects(packages[index], "NUMANode")] == [index]


def test_lstopo_sees_cpus_with_holes_and_the_cpu_tree_agrees(tmp_path):
    config = tmp_path / "holes.json"
    config.write_text("""{
      "block_size": "128M",
      "nodes": [ { "id": 0, "cpus": "0-1" }, { "id": 1, "cpus": "4-5" } ],
      "memory": [ { "start": "0x0", "size": "2G" },
                  { "start": "0x100000000", "size": "1G", "node": 1 } ]
    }""")
    root = lstopo_xml("--config", str(config))
    assert sorted(int(o.get("os_index")) for o in objects(root, "PU")) == [0, 1, 4, 5]
    nodes = {int(o.get("os_index")): int(o.get("local_memory")) for o in objects(root, "NUMANode")}
    assert nodes == {0: 2 * GIB, 1: 1 * GIB}
    r = run("--config", str(config), "--", "sh", "-c",
            "cd /sys/devices/system/cpu && cat online possible offline && ls -d cpu[0-9]* && "
            "readlink cpu4/node1 ../node/node1/cpu5")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n") == ["0-1,4-5", "0-5", "2-3", "cpu0", "cpu1", "cpu4", "cpu5",
                                    "../../node/node1", "../../cpu/cpu5", ""]


def test_numactl_hardware_follows_hot_add_and_remove():
    # Probe a block into node 1's pluggable space (33 GiB: memory264), online it, offline it.
    script = ("numactl --hardware; echo ==; "
              "echo 0x840000000 > /sys/devices/system/memory/probe && "
              "echo online > /sys/devices/system/memory/memory264/state && "
              "numactl --hardware; echo ==; "
              "echo offline > /sys/devices/system/memory/memory264/state && "
              "numactl --hardware")
    r = run("--", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    before, added, removed = r.stdout.split("==\n")
    nodes, distances = numactl_hardware(before)
    assert nodes == {0: ([0, 1], 4096), 1: ([2, 3], 4096)}
    assert distances == [[10, 20], [20, 10]]
    assert re.search(r"^available: 2 nodes \(0-1\)$", before, re.M), before
    assert numactl_hardware(added)[0][1] == ([2, 3], 4096 + 128)
    assert numactl_hardware(added)[0][0] == ([0, 1], 4096)
    assert numactl_hardware(removed)[0] == nodes
