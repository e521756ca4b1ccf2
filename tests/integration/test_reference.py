"""The reference machine (examples/kernel-6.18-vm.json) must read back exactly as the capture of
a real 6.18 kernel in the shared reference file: bytes, modes, links, link counts and errno."""

import errno
import os
import re
import stat

import pytest

import hpfs
from hpfs import BUS, MEM, NODE, PARAMS, err, write_errno

BLOCKS = hpfs.ReferenceMachine.blocks
EINVAL = err("EINVAL")


@pytest.fixture(scope="module")
def ref(module_daemon):
    if not os.path.exists(hpfs.REFERENCE_CONFIG):
        pytest.fail(f"missing {hpfs.REFERENCE_CONFIG}")
    return module_daemon(config=hpfs.REFERENCE_CONFIG)


def assert_memory5_unchanged(d):
    assert d.read_mem("memory5/state") == b"online\n"
    assert d.read_mem("memory5/online") == b"1\n"


# --- file contents -------------------------------------------------------------------------------
BLOCK_EXPECT = {
    0: (b"00000000\n", b"none\n"),
    1: (b"00000001\n", b"DMA32\n"),
    23: (b"00000017\n", b"DMA32\n"),
    32: (b"00000020\n", b"Normal\n"),
    199: (b"000000c7\n", b"Normal\n"),
}


@pytest.mark.parametrize("block", sorted(BLOCK_EXPECT))
def test_block_attributes(ref, block):
    phys_index, valid_zones = BLOCK_EXPECT[block]
    got = {a: ref.read_mem(f"memory{block}/{a}") for a in
           ("phys_index", "state", "online", "removable", "phys_device", "valid_zones", "uevent")}
    assert got == {
        "phys_index": phys_index,
        "state": b"online\n",
        "online": b"1\n",
        "removable": b"1\n",
        "phys_device": b"0\n",
        "valid_zones": valid_zones,
        "uevent": b"",
    }


def test_memory_root_files(ref):
    assert ref.read_mem("auto_online_blocks") == b"offline\n"
    assert ref.read_mem("block_size_bytes") == b"8000000\n"
    assert ref.read_mem("uevent") == b""


def test_cat_od_block_size_bytes(ref):
    r = hpfs.run(f"cat {ref.mem('block_size_bytes')} | od -c", shell=True)
    assert r.stdout == "0000000   8   0   0   0   0   0   0  \\n\n0000010\n"


def test_power_files(ref):
    assert ref.read_mem("memory0/power/control") == b"auto\n"
    assert ref.read_mem("memory0/power/runtime_status") == b"unsupported\n"
    assert ref.read_mem("memory0/power/runtime_active_time") == b"0\n"
    assert ref.read_mem("memory0/power/runtime_suspended_time") == b"0\n"
    fd = os.open(ref.mem("memory0/power/autosuspend_delay_ms"), os.O_RDONLY)
    try:
        with pytest.raises(OSError) as exc:
            os.read(fd, 4096)
        assert exc.value.errno == errno.EIO
    finally:
        os.close(fd)


def test_cat_autosuspend_delay_ms_eio(ref):
    r = hpfs.run(["cat", "memory0/power/autosuspend_delay_ms"], cwd=ref.mem())
    assert (r.returncode, r.stdout, r.stderr) == (
        1, "", "cat: memory0/power/autosuspend_delay_ms: Input/output error\n")


def test_readlink(ref):
    r = hpfs.run(["readlink", "memory5/node0", "memory5/subsystem"], cwd=ref.mem())
    assert (r.returncode, r.stdout) == (0, "../../node/node0\n../../../../bus/memory\n")


def test_stat_state(ref):
    st = os.stat(ref.mem("memory5/state"))
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o644
    assert (st.st_nlink, st.st_uid, st.st_gid) == (1, 0, 0)
    # As sysfs: 4096 for a file whose bytes can change (the default, exact mode reads it with
    # direct I/O); its mtime does not move when its bytes do.
    assert st.st_size == 4096
    with open(ref.mem("memory5/online"), "w") as f:
        f.write("1")
    assert os.stat(ref.mem("memory5/state")).st_mtime_ns == st.st_mtime_ns


def test_stat_fixed_file(ref):
    # Documented deviation: a file that never changes reports its length (the page cache
    # serves it), not 4096.
    assert os.stat(ref.mem("memory5/phys_index")).st_size == len(b"00000005\n")


# --- listings and modes (ls -la) -----------------------------------------------------------------
F, D, L = "file", "dir", "link"


def describe(path):
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        kind, extra = L, os.readlink(path)
    elif stat.S_ISDIR(st.st_mode):
        kind, extra = D, None
    elif stat.S_ISREG(st.st_mode):
        kind, extra = F, None
    else:
        kind, extra = oct(stat.S_IFMT(st.st_mode)), None
    return (kind, oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, extra)


def expect(kind, mode, target=None):
    if kind == D:
        mode = 0o755
    if kind == L:
        mode = 0o777
    return (kind, oct(mode), 0, 0, target)


def check_listing(dirpath, expected, exact=True, names=None):
    """expected: {name: (kind, mode, target)}. Compares type, permission bits, owner, target."""
    present = set(os.listdir(dirpath)) if names is None else names
    if exact:
        assert present == set(expected)
    got = {n: describe(os.path.join(dirpath, n)) for n in expected if n in present}
    want = {n: expect(*expected[n]) for n in expected if n in present}
    assert got == want


def subdir_count(path):
    return sum(1 for e in os.listdir(path) if stat.S_ISDIR(os.lstat(os.path.join(path, e)).st_mode))


MEMORY_DIR = {
    "auto_online_blocks": (F, 0o644),
    "block_size_bytes": (F, 0o444),
    "power": (D, 0),
    "uevent": (F, 0o644),
}

BLOCK_DIR = {
    "node0": (L, 0, "../../node/node0"),
    "online": (F, 0o644),
    "phys_device": (F, 0o444),
    "phys_index": (F, 0o444),
    "power": (D, 0),
    "removable": (F, 0o444),
    "state": (F, 0o644),
    "subsystem": (L, 0, "../../../../bus/memory"),
    "uevent": (F, 0o644),
    "valid_zones": (F, 0o444),
}

POWER_DIR = {
    "autosuspend_delay_ms": (F, 0o644),
    "control": (F, 0o644),
    "runtime_active_time": (F, 0o444),
    "runtime_status": (F, 0o444),
    "runtime_suspended_time": (F, 0o444),
}


def test_memory_dir_listing(ref):
    names = set(os.listdir(ref.mem()))
    assert names == set(MEMORY_DIR) | {f"memory{n}" for n in BLOCKS}
    check_listing(ref.mem(), MEMORY_DIR, exact=False)
    st = os.stat(ref.mem())
    assert describe(ref.mem()) == expect(D, 0)
    assert st.st_nlink == 195 == subdir_count(ref.mem()) + 2


def test_ls_head(ref):
    r = hpfs.run("ls | head -5", cwd=ref.mem(), shell=True)
    assert r.stdout == "auto_online_blocks\nblock_size_bytes\nmemory0\nmemory1\nmemory10\n"


@pytest.mark.parametrize("block", [0, 5, 199])
def test_block_dir_modes(ref, block):
    check_listing(ref.block(block), BLOCK_DIR)
    assert describe(ref.block(block)) == expect(D, 0)
    assert os.stat(ref.block(block)).st_nlink == 3


def test_block_power_dir_modes(ref):
    check_listing(ref.mem("memory0/power"), POWER_DIR)
    assert os.stat(ref.mem("memory0/power")).st_nlink == 2


def test_link_and_dir_sizes_are_zero(ref):
    # ls -la shows size 0 for directories and links (only regular files deviate, by design).
    for rel in ("memory5", "memory5/power", "memory5/node0", "memory5/subsystem"):
        assert os.lstat(ref.mem(rel)).st_size == 0, rel


# --- syscall-level behaviour of memory5 ----------------------------------------------------------
STATE_WRITES = [
    (b"x" * 5000, EINVAL),
    (b"x" * 4096, EINVAL),
    (b"", 0),
    (b"online", EINVAL),
    (b"online\n", EINVAL),
    (b"online\n\n", EINVAL),
    (b" online", EINVAL),
    (b"ONLINE", EINVAL),
    (b"offlinex", EINVAL),
]


@pytest.mark.parametrize("data,result", STATE_WRITES, ids=lambda v: repr(v)[:24])
def test_write_state(ref, data, result):
    assert write_errno(ref.mem("memory5/state"), data) == result
    assert_memory5_unchanged(ref)


def test_write_state_append(ref):
    flags = os.O_WRONLY | os.O_APPEND
    assert write_errno(ref.mem("memory5/state"), b"online", flags) == EINVAL
    assert_memory5_unchanged(ref)


ONLINE_WRITES = [
    (b"y", 1), (b"Y", 1), (b"yes", 3), (b"on", 2), (b"true", 4), (b"t", 1), (b"1abc", 4),
    (b"", 0), (b" 1", EINVAL), (b"1\n", 2), (b"2", EINVAL), (b"online", 6),
]


@pytest.mark.parametrize("data,result", ONLINE_WRITES, ids=lambda v: repr(v)[:24])
def test_write_online(ref, data, result):
    assert write_errno(ref.mem("memory5/online"), data) == result
    assert_memory5_unchanged(ref)


def test_pread_state(ref):
    fd = os.open(ref.mem("memory5/state"), os.O_RDONLY)
    try:
        assert os.pread(fd, 100, 2) == b"line\n"
        assert os.pread(fd, 100, 100) == b""
    finally:
        os.close(fd)


def test_read_state_in_pieces(ref):
    fd = os.open(ref.mem("memory5/state"), os.O_RDONLY)
    try:
        assert [os.read(fd, 3), os.read(fd, 100), os.read(fd, 100)] == [b"onl", b"ine\n", b""]
    finally:
        os.close(fd)


def test_namespace_operations(ref):
    m5 = ref.mem("memory5")
    c = hpfs.call_errno
    assert c(os.open, f"{m5}/nonexistent", os.O_RDONLY) == ("err", "ENOENT")
    assert c(os.open, f"{m5}/newfile", os.O_WRONLY | os.O_CREAT, 0o644) == ("err", "EACCES")
    assert c(os.mkdir, f"{m5}/d") == ("err", "EPERM")
    assert c(os.unlink, f"{m5}/state") == ("err", "EPERM")
    assert c(os.rename, f"{m5}/state", f"{m5}/x") == ("err", "EPERM")
    assert c(os.symlink, "state", f"{m5}/l") == ("err", "EPERM")
    assert sorted(os.listdir(m5)) == sorted(BLOCK_DIR)
    assert_memory5_unchanged(ref)


def test_open_trunc_and_truncate_accepted(ref):
    fd = os.open(ref.mem("memory5/state"), os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    os.truncate(ref.mem("memory5/state"), 0)
    assert_memory5_unchanged(ref)


def test_open_phys_index_wronly(ref):
    # The kernel refuses the open itself, and so does the daemon in its default (exact) mode.
    assert hpfs.call_errno(os.open, ref.mem("memory5/phys_index"), os.O_WRONLY) == \
        ("err", "EACCES")


def test_listdir_memory5(ref):
    assert sorted(os.listdir(ref.mem("memory5"))) == [
        "node0", "online", "phys_device", "phys_index", "power", "removable", "state",
        "subsystem", "uevent", "valid_zones"]


def test_stat_dirs(ref):
    st5 = os.stat(ref.mem("memory5"))
    assert (st5.st_nlink, st5.st_size) == (3, 0)
    assert os.stat(ref.mem()).st_nlink == 195


# --- safe writes (bash) --------------------------------------------------------------------------
WRITE_EINVAL = "echo: write error: Invalid argument"
SAFE_WRITES = [
    ("echo online > memory5/state", WRITE_EINVAL, 1),
    ("echo bogus > memory5/state", WRITE_EINVAL, 1),
    ("echo 1 > memory5/online", "", 0),
    ("echo 2 > memory5/online", WRITE_EINVAL, 1),
    ("echo bogus > auto_online_blocks", WRITE_EINVAL, 1),
    ("echo x > block_size_bytes", "block_size_bytes: Permission denied", 1),
    ("echo x > memory5/phys_index", "memory5/phys_index: Permission denied", 1),
]


@pytest.mark.parametrize("command,stderr,code", SAFE_WRITES, ids=[c for c, _, _ in SAFE_WRITES])
def test_safe_writes(ref, command, stderr, code):
    r = hpfs.bash(command, cwd=ref.mem())
    assert (hpfs.strip_bash_prefix(r.stderr), r.returncode) == (stderr, code)
    assert_memory5_unchanged(ref)
    assert ref.read_mem("auto_online_blocks") == b"offline\n"
    assert ref.read_mem("block_size_bytes") == b"8000000\n"
    assert ref.read_mem("memory5/phys_index") == b"00000005\n"


# --- uevent files --------------------------------------------------------------------------------
UEVENT_WRITES = [
    ("echo change > memory5/uevent", "", 0),
    ('echo "add 11111111-2222-3333-4444-555555555555 FOO=bar" > memory6/uevent', "", 0),
    ("echo bogus > memory6/uevent", WRITE_EINVAL, 1),
    ("echo online > memory6/uevent", "", 0),
]


@pytest.mark.parametrize("command,stderr,code", UEVENT_WRITES,
                         ids=[c.split(" > ")[0] for c, _, _ in UEVENT_WRITES])
def test_uevent_writes(ref, command, stderr, code):
    r = hpfs.bash(command, cwd=ref.mem())
    assert (hpfs.strip_bash_prefix(r.stderr), r.returncode) == (stderr, code)
    # A synthetic event changes no state and the files still read empty.
    for n in (5, 6):
        assert ref.read_mem(f"memory{n}/uevent") == b""
        assert ref.read_mem(f"memory{n}/state") == b"online\n"
    assert sorted(os.listdir(ref.mem())) == sorted(set(MEMORY_DIR) | {f"memory{n}" for n in BLOCKS})


# --- /sys/devices/system/node --------------------------------------------------------------------
NODE_DIR = {
    "has_cpu": (F, 0o444),
    "has_generic_initiator": (F, 0o444),
    "has_memory": (F, 0o444),
    "has_normal_memory": (F, 0o444),
    "node0": (D, 0),
    "online": (F, 0o444),
    "possible": (F, 0o444),
    "power": (D, 0),
    "uevent": (F, 0o644),
}

NODE0_DIR = {  # as listed by the reference (memoryN links are listed separately)
    "compact": (F, 0o200),
    "cpu0": (L, 0, "../../cpu/cpu0"),
    "cpu1": (L, 0, "../../cpu/cpu1"),
    "cpulist": (F, 0o444),
    "cpumap": (F, 0o444),
    "distance": (F, 0o444),
    "hugepages": (D, 0),
    "meminfo": (F, 0o444),
    "numastat": (F, 0o444),
    "power": (D, 0),
    "reclaim": (F, 0o200),
    "subsystem": (L, 0, "../../../../bus/node"),
    "uevent": (F, 0o644),
    "vmstat": (F, 0o444),
}
NODE0_REQUIRED = {"cpulist", "distance", "meminfo", "subsystem"}


def test_node_dir_listing(ref):
    node = ref.path(NODE)
    check_listing(node, NODE_DIR)
    assert os.stat(node).st_nlink == 4


def test_node0_listing(ref):
    node0 = ref.path(f"{NODE}/node0")
    names = set(os.listdir(node0))
    mem_links = {n for n in names if n.startswith("memory")}
    assert NODE0_REQUIRED <= names
    assert names - mem_links <= set(NODE0_DIR), "entries the reference does not list"
    check_listing(node0, NODE0_DIR, exact=False, names=names)
    assert mem_links == {f"memory{n}" for n in BLOCKS}
    for n in (0, 5, 199):
        assert os.readlink(f"{node0}/memory{n}") == f"../../memory/memory{n}"
        assert os.path.samefile(f"{node0}/memory{n}", ref.block(n))
    assert os.stat(node0).st_nlink == subdir_count(node0) + 2


@pytest.mark.parametrize("name,content", [
    ("online", b"0\n"), ("possible", b"0\n"), ("has_memory", b"0\n"),
    ("has_normal_memory", b"0\n"), ("has_cpu", b"0\n"), ("has_generic_initiator", b"\n"),
    ("node0/distance", b"10\n"), ("node0/cpulist", b"0-1\n"),
])
def test_node_files(ref, name, content):
    assert ref.read(f"{NODE}/{name}") == content


def test_cat_distance_cpulist(ref):
    r = hpfs.run(["cat", "node/node0/distance", "node/node0/cpulist"],
                 cwd=ref.path("devices/system"))
    assert r.stdout == "10\n0-1\n"


MEMINFO_KEYS = [
    "MemTotal", "MemFree", "MemUsed", "SwapCached", "Active", "Inactive", "Active(anon)",
    "Inactive(anon)", "Active(file)", "Inactive(file)", "Unevictable", "Mlocked", "Dirty",
    "Writeback", "FilePages", "Mapped", "AnonPages", "Shmem", "KernelStack", "PageTables",
    "SecPageTables", "NFS_Unstable", "Bounce", "WritebackTmp", "KReclaimable", "Slab",
    "SReclaimable", "SUnreclaim", "AnonHugePages", "ShmemHugePages", "ShmemPmdMapped",
    "FileHugePages", "FilePmdMapped", "HugePages_Total", "HugePages_Free", "HugePages_Surp",
]


def test_node0_meminfo_format(ref):
    text = ref.read(f"{NODE}/node0/meminfo").decode()
    assert text.endswith("\n")
    values = {}
    keys = []
    for line in text.splitlines():
        m = re.fullmatch(r"Node 0 (\S+):( +)(\d+)( kB)?", line)
        assert m, f"bad meminfo line {line!r}"
        key, value = m.group(1), int(m.group(3))
        keys.append(key)
        values[key] = value
        if key.startswith("HugePages_"):
            assert m.group(4) is None and len(line) == 29, line
        else:
            assert m.group(4) == " kB" and len(line) == 34, line
    assert keys == MEMINFO_KEYS
    online_kb = len(BLOCKS) * hpfs.BLOCK_SIZE // 1024
    assert 0 < values["MemTotal"] <= online_kb
    assert values["MemFree"] <= values["MemTotal"]
    assert values["MemUsed"] == values["MemTotal"] - values["MemFree"]


# --- /sys/bus/memory -----------------------------------------------------------------------------
BUS_DIR = {
    "devices": (D, 0),
    "drivers": (D, 0),
    "drivers_autoprobe": (F, 0o644),
    "drivers_probe": (F, 0o200),
    "uevent": (F, 0o200),
}


def test_bus_memory(ref):
    bus = ref.path(BUS)
    check_listing(bus, BUS_DIR)
    assert os.stat(bus).st_nlink == 4
    devices = ref.path(f"{BUS}/devices")
    assert describe(devices) == expect(D, 0)
    assert os.stat(devices).st_nlink == 2
    check_listing(devices, {f"memory{n}": (L, 0, f"../../../devices/system/memory/memory{n}")
                            for n in BLOCKS})
    assert os.path.samefile(f"{devices}/memory5", ref.block(5))
    assert os.listdir(ref.path(f"{BUS}/drivers")) == []


# --- /sys/module/memory_hotplug/parameters -------------------------------------------------------
PARAMS_DIR = {
    "auto_movable_numa_aware": (F, 0o644),
    "auto_movable_ratio": (F, 0o644),
    "memmap_on_memory": (F, 0o444),
    "online_policy": (F, 0o644),
}


def test_module_parameters(ref):
    params = ref.path(PARAMS)
    check_listing(params, PARAMS_DIR)
    assert os.stat(params).st_nlink == 2
    assert {n: ref.read(f"{PARAMS}/{n}") for n in PARAMS_DIR} == {
        "auto_movable_numa_aware": b"Y\n",
        "auto_movable_ratio": b"301\n",
        "memmap_on_memory": b"N\n",
        "online_policy": b"contig-zones\n",
    }


def test_online_policy_bogus(ref):
    path = ref.path(f"{PARAMS}/online_policy")
    r = hpfs.bash(f"echo bogus > {path}")
    assert (hpfs.strip_bash_prefix(r.stderr), r.returncode) == (WRITE_EINVAL, 1)
    assert ref.read(f"{PARAMS}/online_policy") == b"contig-zones\n"
