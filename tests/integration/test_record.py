"""`hotplugctl record`: a live or captured memory sysfs becomes a configuration that serves the
same tree. lsmem prints the same bytes for the source and for the served recording (the option
sets of util-linux's own lsmem test), chmem on a served capture changes exactly the blocks it
names, a recording of a running hotplugfs machine serves the same files, and input that cannot
be recorded ends with one line naming the path, exit code 2."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

import hpfs

DATA = os.path.join(hpfs.REPO, "tests", "data", "record")
CAPTURES = ["x86_64", "s390x", "arm64"]
ALL = "RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES"

# The option sets of util-linux's tests/ts/lsmem/lsmem, and --split by every column.
LSMEM_OPTIONS = [
    "",
    "--split=STATE,REMOVABLE",
    "--output RANGE,SIZE --split none",
    "--output RANGE,SIZE,STATE --split STATE",
    f"--all --output {ALL}",
    f"--all --output {ALL} --raw",
    f"--all --output {ALL} --json",
    *[f"--output {ALL} --split {c}" for c in ("STATE", "REMOVABLE", "NODE", "ZONES")],
    *[f"--output {ALL} --split {c} --raw" for c in ("STATE", "REMOVABLE", "NODE", "ZONES")],
    "-o +ZONES",
    "--output-all",
    "--output-all --json --bytes",
]


def ctl_path():
    return os.path.join(os.path.dirname(hpfs.daemon_executable()), "hotplugctl")


def record(*args):
    return subprocess.run([ctl_path(), "record", *args], capture_output=True, text=True,
                          timeout=60, env=hpfs.TOOL_ENV)


def record_to(directory, *args, name="recorded.json"):
    path = os.path.join(str(directory), name)
    r = record(*args, "-o", path)
    assert r.returncode == 0, r.stderr
    return path, r


def lsmem(sysroot, options):
    r = hpfs.run(f"lsmem --sysroot {sysroot} {options}", shell=True)
    return r.returncode, r.stdout, r.stderr


def assert_lsmem_equal(source_root, served):
    for options in LSMEM_OPTIONS:
        want = lsmem(source_root, options)
        assert want[0] == 0, f"lsmem {options} on {source_root}: {want[2]}"
        assert lsmem(served.root, options) == want, f"lsmem {options}"


@pytest.fixture(scope="module")
def workdir():
    path = tempfile.mkdtemp(prefix=hpfs.TEMP_PREFIX)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- this machine --------------------------------------------------------------------------------
def host_has_memory_tree():
    return os.path.isdir("/sys/devices/system/memory") and any(
        e.startswith("memory") for e in os.listdir("/sys/devices/system/memory"))


def test_record_host_serves_the_same_lsmem(module_daemon, workdir):
    if not host_has_memory_tree():
        pytest.skip("this machine has no /sys/devices/system/memory blocks to record")
    path, _ = record_to(workdir, name="host.json")
    with open(path) as f:
        config = json.load(f)
    assert config["arch"] in ("x86_64", "arm64", "ppc64", "s390x")
    assert "Recorded by hotplugctl record from /sys" in config["description"]
    served = module_daemon(config=path)
    assert_lsmem_equal("/", served)


def test_recorded_host_runs_under_hotplugctl_run(workdir):
    if not host_has_memory_tree():
        pytest.skip("this machine has no /sys/devices/system/memory blocks to record")
    path, _ = record_to(workdir, name="host-run.json")
    r = subprocess.run([ctl_path(), "run", "--daemon", hpfs.daemon_executable(), "--config", path,
                        "--", "lsmem"], capture_output=True, text=True, timeout=120,
                       env=hpfs.TOOL_ENV)
    assert r.returncode == 0, r.stderr
    assert r.stdout == lsmem("/", "")[1]


# --- captured trees ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served_capture(module_daemon, workdir):
    served = {}

    def get(name):
        if name not in served:
            path, r = record_to(workdir, "--sysroot", os.path.join(DATA, name),
                                name=f"{name}.json")
            served[name] = (module_daemon(config=path), path, r)
        return served[name]
    return get


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_serves_the_same_lsmem(served_capture, name):
    served, _, _ = served_capture(name)
    assert_lsmem_equal(os.path.join(DATA, name), served)


@pytest.mark.parametrize("name,arch", [("x86_64", "x86_64"), ("s390x", "s390x"),
                                       ("arm64", "arm64")])
def test_capture_architecture_is_inferred_and_said(served_capture, name, arch):
    _, path, r = served_capture(name)
    with open(path) as f:
        config = json.load(f)
    assert config["arch"] == arch
    assert r.stderr.startswith(f"hotplugctl record: architecture {arch}: "), r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_capture_fields(served_capture):
    _, path, _ = served_capture("x86_64")
    with open(path) as f:
        c = json.load(f)
    assert [n["cpus"] for n in c["nodes"]] == ["0-1", "2-3"]
    assert [n["distance"] for n in c["nodes"]] == [[10, 21], [21, 10]]
    assert c["multi_zone"] == "0"
    assert c["parameters"]["probe"] is True
    assert "auto_movable_max_kernel_mib is not reproduced" in c["description"]
    _, path, _ = served_capture("s390x")
    with open(path) as f:
        c = json.load(f)
    assert c["block_size"] == "256M" and c["storage_increment"] == "256M"
    assert c["parameters"]["probe"] is False


def test_capture_block_files_are_the_same(served_capture):
    """What lsmem does not print: every block's phys_device, phys_index, removable, online."""
    for name in CAPTURES:
        served, _, _ = served_capture(name)
        mem = os.path.join(DATA, name, "sys", hpfs.MEM)
        blocks = sorted(e for e in os.listdir(mem) if e.startswith("memory"))
        assert blocks == sorted(e for e in os.listdir(served.mem()) if e.startswith("memory"))
        for b in blocks:
            for f in ("state", "online", "valid_zones", "removable", "phys_index",
                      "phys_device"):
                with open(os.path.join(mem, b, f), "rb") as src:
                    assert served.read_mem(f"{b}/{f}") == src.read(), f"{name} {b}/{f}"


# --- chmem on a served capture -------------------------------------------------------------------
def capture_states(name):
    mem = os.path.join(DATA, name, "sys", hpfs.MEM)
    out = {}
    for e in os.listdir(mem):
        if e.startswith("memory"):
            with open(os.path.join(mem, e, "state"), "rb") as f:
                out[int(e[6:])] = f.read()
    return out


@pytest.mark.parametrize("name,enable,disable", [
    ("x86_64", "-b 48-49", "-b 37"),
    ("s390x", "512M", "-b 15"),
    ("arm64", "-b 18", "-b 19"),
])
def test_chmem_on_a_served_capture_changes_exactly_the_named_blocks(daemon, tmp_path, name,
                                                                    enable, disable):
    path, _ = record_to(tmp_path, "--sysroot", os.path.join(DATA, name))
    d = daemon(config=path)
    before = capture_states(name)
    assert d.states() == before
    bs = int(d.read_mem("block_size_bytes"), 16)
    enabled = (set(range(48, 50)) if name == "x86_64" else {16, 17} if name == "s390x"
               else {18})
    disabled = {37} if name == "x86_64" else {15} if name == "s390x" else {19}
    for args in (f"-e {enable}", f"-d {disable}"):
        r = hpfs.ns_run(d, f"chmem {args}")
        assert r.returncode == 0, f"chmem {args}: {r.stderr}"
    want = dict(before)
    want.update({n: b"online\n" for n in enabled})
    want.update({n: b"offline\n" for n in disabled})
    assert d.states() == want
    for n in enabled:  # chmem onlines to Movable where valid_zones offers it
        assert d.read_mem(f"memory{n}/valid_zones") == b"Movable\n"
    r = hpfs.ns_run(d, "lsmem -a -r -n -o BLOCK,STATE")
    assert r.returncode == 0, r.stderr
    rows = dict(line.split() for line in r.stdout.splitlines())
    assert {int(k): v.encode() + b"\n" for k, v in rows.items()} == want
    assert bs == int(open(os.path.join(DATA, name, "sys", hpfs.MEM, "block_size_bytes")).read(), 16)


# --- round trip ----------------------------------------------------------------------------------
TREES = [hpfs.MEM, hpfs.NODE, hpfs.BUS, "module/memory_hotplug"]


def snapshot_tree(sysroot):
    """{relative path: ('dir', entries) | ('link', target) | ('file', bytes or errno name)}."""
    out = {}
    for top in TREES:
        base = os.path.join(sysroot, top)
        for dirpath, dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, sysroot)
            out[rel] = ("dir", sorted(dirnames + filenames))
            for name in dirnames + filenames:
                p = os.path.join(dirpath, name)
                key = os.path.join(rel, name)
                if os.path.islink(p):
                    out[key] = ("link", os.readlink(p))
                    if name in dirnames:
                        dirnames.remove(name)
                elif name in filenames:
                    out[key] = ("file", hpfs.call_errno(lambda: open(p, "rb").read()))
    return out


def test_round_trip_of_a_running_machine(daemon, tmp_path):
    original = daemon()
    ctl = [ctl_path(), "--root", original.root]
    for args in (["online", "72", "movable"], ["online", "73", "kernel"], ["online", "104"],
                 ["offline", "40"], ["offline", "23"], ["probe", "0x440000000"],
                 ["set", "auto_online_blocks", "online_movable"], ["probe", "0x448000000"],
                 ["set", "online_policy", "auto-movable"]):
        r = subprocess.run(ctl + args, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"{args}: {r.stderr}"
    assert original.state(137) == b"online\n" and original.state(136) == b"offline\n"
    path, _ = record_to(tmp_path, "--sysroot", original.root, "--arch", "x86_64")
    copy = daemon(config=path)
    a, b = snapshot_tree(original.sys), snapshot_tree(copy.sys)
    assert len(a) > 1000
    assert sorted(a) == sorted(b)
    assert [k for k in a if a[k] != b[k]] == []


# --- input that cannot be recorded ---------------------------------------------------------------
def make_capture(tmp_path):
    root = tmp_path / "capture"
    shutil.copytree(os.path.join(DATA, "x86_64"), root, symlinks=True)
    return root


def assert_refused(r, path, reason):
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert r.stderr == f"hotplugctl record: {path}: {reason}\n"


def test_no_memory_tree(tmp_path):
    assert_refused(record("--sysroot", str(tmp_path)), f"{tmp_path}/sys/{hpfs.MEM}",
                   "no memory-hotplug tree here (No such file or directory)")


def test_unreadable_file(tmp_path):
    root = make_capture(tmp_path)
    state = root / "sys" / hpfs.MEM / "memory5" / "state"
    state.unlink()
    state.mkdir()
    assert_refused(record("--sysroot", str(root)), str(state), "Is a directory")


def test_contradicting_block(tmp_path):
    root = make_capture(tmp_path)
    online = root / "sys" / hpfs.MEM / "memory36" / "online"
    online.write_text("1\n")
    assert_refused(record("--sysroot", str(root)), str(online), "reads 1 but state reads offline")
    online.write_text("0\n")
    os.symlink("../../node/node1", root / "sys" / hpfs.MEM / "memory36" / "node1")
    assert_refused(record("--sysroot", str(root)), str(root / "sys" / hpfs.MEM / "memory36"),
                   "links to node0 and node1")


def test_zone_the_architecture_lacks(tmp_path):
    root = make_capture(tmp_path)
    r = record("--sysroot", str(root), "--arch", "s390x")
    assert_refused(r, str(root / "sys" / hpfs.MEM / "memory1" / "valid_zones"),
                   "DMA32 does not exist on s390x")


def test_usage_errors():
    for args in (["--arch"], ["--arch", "riscv"], ["--pluggable", "lots"], ["extra"]):
        r = record(*args)
        assert r.returncode == 2, args
        assert r.stdout == ""


def test_pluggable_space_makes_room_to_probe(daemon, tmp_path):
    path, _ = record_to(tmp_path, "--sysroot", os.path.join(DATA, "x86_64"), "--pluggable", "1G")
    d = daemon(config=path)
    assert hpfs.write_errno(d.mem("probe"), b"0x1c0000000") == len(b"0x1c0000000")
    assert d.state(56) == b"offline\n"
    assert os.readlink(d.block(56, "node1")) == "../../node/node1"
    assert hpfs.write_errno(d.mem("probe"), b"0x200000000") == hpfs.err("E2BIG")
