"""NUMA topology readers, unmodified, inside `hotplugctl run` (node_exporter pointed at the mount
instead): hwloc's lstopo, numactl and prometheus-node-exporter see the configured machine whole
— its CPUs, its nodes with their memory and distances — and follow memory as it comes and
goes."""

import os
import re
import shutil
import socket
import subprocess
import urllib.request
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


DEVICES_CONFIG = os.path.join(REPO, "examples", "devices.json")
# dimm1: 1 GiB on node 0, auto-onlined when plugged. The debugfs tree is not bound over /sys:
# reached in the run's own mount, beside its PID file.
DIMM1 = f'"$(dirname "$HOTPLUGFS_DAEMON_PIDFILE")"/sys/{hpfs.DEVICES}/dimm1/plugged'


def test_numactl_hardware_follows_a_dimm_plug_and_unplug():
    script = (f"numactl --hardware && echo == && echo 1G > {DIMM1} && numactl --hardware && "
              f"echo == && echo 0 > {DIMM1} && numactl --hardware")
    r = run("--config", DEVICES_CONFIG, "--", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    (before, d_before), (added, d_added), (removed, d_removed) = (
        numactl_hardware(part) for part in r.stdout.split("==\n"))
    (cpus0, size0), (cpus1, size1) = before[0], before[1]
    assert (cpus0, cpus1) == ([0, 1], [2, 3])
    # The DIMM carries its own memmap (memmap_on_memory): a little less than 1 GiB arrives.
    assert added[0][0] == cpus0 and 1024 - 32 <= added[0][1] - size0 < 1024
    assert added[1] == (cpus1, size1)
    assert removed == before
    assert d_before == d_added == d_removed == [[10, 20], [20, 10]]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NodeExporter:
    """prometheus-node-exporter with only the meminfo_numa collector, reading `sysfs`; stopped
    (by its PID) when the `with` block ends."""

    def __init__(self, sysfs):
        self.url = f"http://127.0.0.1:{free_port()}/metrics"
        self.proc = subprocess.Popen(
            ["prometheus-node-exporter", "--collector.disable-defaults",
             "--collector.meminfo_numa", f"--path.sysfs={sysfs}",
             "--web.listen-address=" + self.url.split("/")[2]],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def mem_total(self):
        """{node: bytes} from node_memory_numa_MemTotal."""
        def scrape():
            assert self.proc.poll() is None, self.proc.stderr.read().decode()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as f:
                    return f.read().decode()
            except OSError:
                return None
        text = None
        hpfs.wait_until(lambda: (text := scrape()) is not None, 20, what="node_exporter to serve")
        text = scrape()
        return {int(m.group(1)): int(float(m.group(2))) for m in
                re.finditer(r'^node_memory_numa_MemTotal\{node="(\d+)"\} (\S+)$', text, re.M)}


def node_mem_total(d, node):
    with open(d.path(f"{hpfs.NODE}/node{node}/meminfo")) as f:
        return int(re.search(r"MemTotal: +(\d+) kB", f.read()).group(1)) * 1024


def test_node_exporter_meminfo_numa_follows_a_dimm_plug_and_unplug(daemon):
    if shutil.which("prometheus-node-exporter") is None:
        pytest.fail("prometheus-node-exporter is missing: scripts/install-deps.sh installs it")
    d = daemon(config=DEVICES_CONFIG)
    plugged = d.path(f"{hpfs.DEVICES}/dimm1/plugged")
    with NodeExporter(d.sys) as exporter:
        before = exporter.mem_total()
        assert before == {0: node_mem_total(d, 0), 1: node_mem_total(d, 1)}
        assert hpfs.write_errno(plugged, b"1G\n") == 3
        added = exporter.mem_total()
        assert added == {0: node_mem_total(d, 0), 1: before[1]}
        assert GIB - 32 * MIB <= added[0] - before[0] < GIB  # less its memmap
        assert hpfs.write_errno(plugged, b"0\n") == 2
        assert exporter.mem_total() == before


# --- memory tiers -------------------------------------------------------------------------------
# Two DRAM nodes with CPUs and a CPU-less node 2 of slower memory (adistance 1024: memory_tier8)
# with 1 GiB online at 16 GiB (memory128-135).
TIERED = {
    "block_size": "128M",
    "nodes": [{"id": 0, "cpus": "0-1", "distance": [10, 20, 30]},
              {"id": 1, "cpus": "2-3", "distance": [20, 10, 30]},
              {"id": 2, "distance": [30, 30, 10], "adistance": 1024}],
    "memory": [{"start": "0x0", "size": "2G"},
               {"start": "0x100000000", "size": "2G", "node": 1},
               {"start": "0x400000000", "size": "1G", "node": 2}],
}
TIERS = "/sys/devices/virtual/memory_tiering"
CXL_BLOCKS = range(128, 136)


def tiered_config(tmp_path):
    return hpfs.write_config(tmp_path, TIERED, name="tiered.json")


def test_lstopo_and_numactl_show_the_cpu_less_node(tmp_path):
    config = tiered_config(tmp_path)
    root = lstopo_xml("--config", config)
    nodes = {int(o.get("os_index")): o for o in objects(root, "NUMANode")}
    assert {n: int(o.get("local_memory")) for n, o in nodes.items()} == \
        {0: 2 * GIB, 1: 2 * GIB, 2: 1 * GIB}
    assert nodes[2].get("cpuset") in ("0x0", "0x00000000")
    assert sorted(int(o.get("os_index")) for o in objects(root, "PU")) == [0, 1, 2, 3]
    r = run("--config", config, "--", "numactl", "--hardware")
    assert r.returncode == 0, r.stderr
    nodes, distances = numactl_hardware(r.stdout)
    assert nodes == {0: ([0, 1], 2048), 1: ([2, 3], 2048), 2: ([], 1024)}
    assert distances == [[10, 20, 30], [20, 10, 30], [30, 30, 10]]


def test_tiers_follow_the_cpu_less_node_losing_and_gaining_memory(tmp_path):
    offline = " && ".join(f"echo offline > /sys/devices/system/memory/memory{n}/state"
                          for n in CXL_BLOCKS)
    script = (f"cd {TIERS} && ls && cat memory_tier4/nodelist memory_tier8/nodelist && "
              f"readlink /sys/bus/memory_tiering/devices/memory_tier8 && "
              f"cat /sys/kernel/mm/numa/demotion_enabled && echo == && "
              f"{offline} && ls && cat memory_tier4/nodelist && "
              f"ls /sys/bus/memory_tiering/devices && echo == && "
              f"echo online_movable > /sys/devices/system/memory/memory130/state && "
              f"ls && cat memory_tier8/nodelist && numactl --hardware | grep '^node 2 size'")
    r = run("--config", tiered_config(tmp_path), "--", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    before, gone, back = r.stdout.split("==\n")
    assert before.split("\n") == [
        "memory_tier4", "memory_tier8", "power", "uevent", "0-1", "2",
        "../../../devices/virtual/memory_tiering/memory_tier8", "false", ""]
    assert gone.split("\n") == ["memory_tier4", "power", "uevent", "0-1", "memory_tier4", ""]
    assert back.split("\n") == ["memory_tier4", "memory_tier8", "power", "uevent", "2",
                                "node 2 size: 128 MB", ""]


def test_tier_devices_come_and_go_with_uevents(daemon, tmp_path):
    log = str(tmp_path / "events.jsonl")
    d = daemon(config=tiered_config(tmp_path), extra_args=("--event-log", log))
    for n in CXL_BLOCKS:
        assert hpfs.write_errno(d.block(n, "state"), b"offline") == 7
    assert not os.path.exists(d.path("devices/virtual/memory_tiering/memory_tier8"))
    assert hpfs.write_errno(d.block(131, "state"), b"online") == 6
    assert d.read("devices/virtual/memory_tiering/memory_tier8/nodelist") == b"2\n"
    events = hpfs.wait_until(lambda: len(hpfs.read_events(log)) >= 10 and hpfs.read_events(log),
                             what="the events")
    seen = [(e["action"], e["devpath"], e["subsystem"]) for e in events]
    tier8 = "/devices/virtual/memory_tiering/memory_tier8"
    # The tier goes before the last block's offline event and comes before the online one.
    assert seen[-4:] == [("remove", tier8, "memory_tiering"),
                         ("offline", "/devices/system/memory/memory135", "memory"),
                         ("add", tier8, "memory_tiering"),
                         ("online", "/devices/system/memory/memory131", "memory")]
    assert [s for s in seen if s[2] == "memory_tiering"] == [("remove", tier8, "memory_tiering"),
                                                           ("add", tier8, "memory_tiering")]
    seqnums = [e["seqnum"] for e in events]
    assert seqnums == sorted(seqnums)
