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
