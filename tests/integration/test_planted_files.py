"""The files the root daemon writes (--pid-file, --log-file, --event-log, --state, and D-Bus Save
through `hotplugctl save`) may sit in a directory others can write, like /tmp. A symbolic link
planted there (to a victim file), a FIFO, a file of another user or a second hard link of a file
is refused at start-up with one line naming the path, exit code 2 and no mount; the victim keeps
its bytes and mtime, and a FIFO never makes the daemon hang."""

import os
import signal
import subprocess

import pytest

import hpfs

OPTIONS = ("--pid-file", "--log-file", "--event-log", "--state")
VICTIM_TEXT = b"root:secret:19000:0:99999:7:::\n"
NOBODY = 65534


@pytest.fixture
def victim(tmp_path):
    """A file that must not change: (path, bytes, mtime_ns)."""
    path = tmp_path / "victim"
    path.write_bytes(VICTIM_TEXT)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    return path


def assert_unchanged(victim):
    st = os.lstat(victim)
    assert victim.read_bytes() == VICTIM_TEXT
    assert st.st_mtime_ns == 1_000_000_000_000_000_000


def plant(kind, path, victim):
    if kind == "symlink":
        os.symlink(victim, path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "foreign":
        path.write_bytes(b"a file of nobody's\n")
        os.chown(path, NOBODY, NOBODY)
    elif kind == "hardlink":
        os.link(victim, path)


def start_refused(tmp_path, option, target):
    """Runs hotplugfsd --foreground with `option target`; expects a refusal within 10 s and
    returns its stderr. In the foreground a daemon that started (or hung) after all is the
    process the timeout kills."""
    mnt = tmp_path / "mnt"
    mnt.mkdir(exist_ok=True)
    args = [hpfs.daemon_executable(), "--foreground", option, str(target), str(mnt)]
    try:
        r = hpfs.run(args, timeout=10)
    except subprocess.TimeoutExpired:
        hpfs.lazy_unmount(str(mnt))
        pytest.fail(f"{option} {target}: the daemon did not exit (it hung or it serves)")
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert not hpfs.is_mounted(str(mnt))
    assert r.stderr.count("\n") == 1, r.stderr
    return r.stderr


REASONS = {
    "symlink": "is a symbolic link; refusing to follow it",
    "fifo": "is a FIFO, not a regular file",
    "foreign": f"is owned by uid {NOBODY}, not by uid 0",
    "hardlink": "has 2 hard links, not one",
}


@pytest.mark.parametrize("kind", sorted(REASONS))
@pytest.mark.parametrize("option", OPTIONS)
def test_a_planted_file_is_refused(tmp_path, victim, option, kind):
    target = tmp_path / "planted"
    plant(kind, target, victim)
    before = os.lstat(target)
    stderr = start_refused(tmp_path, option, target)
    name = f"{option} {target}" if option != "--state" else str(target)
    assert stderr == f"hotplugfsd: {name}: {REASONS[kind]}\n"
    assert_unchanged(victim)
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode, after.st_uid, after.st_size, after.st_mtime_ns) == (
        before.st_ino, before.st_mode, before.st_uid, before.st_size, before.st_mtime_ns)


def test_a_directory_is_refused(tmp_path):
    target = tmp_path / "dir"
    target.mkdir()
    for option in OPTIONS:
        stderr = start_refused(tmp_path, option, target)
        assert stderr.endswith(f"{target}: is a directory, not a regular file\n"), stderr


def test_normal_paths_still_work(daemon, tmp_path):
    """Fresh names are created; existing files of root's are appended to (logs) or replaced
    (pid file, state)."""
    fresh = {opt: tmp_path / f"fresh{opt}" for opt in ("--log-file", "--event-log", "--state")}
    d = daemon(extra_args=[x for opt, path in fresh.items() for x in (opt, str(path))])
    assert d.pid is not None
    assert os.path.getsize(fresh["--log-file"]) > 0
    assert hpfs.write_errno(d.block(72, "state"), b"online\n") == 7
    assert [e["action"] for e in hpfs.read_events(str(fresh["--event-log"]))] == ["online"]
    assert os.path.getsize(fresh["--state"]) > 0

    old = {opt: tmp_path / f"old{opt}" for opt in ("--log-file", "--event-log")}
    for path in old.values():
        path.write_bytes(b'{"kept":1}\n')
    root = tmp_path / "root"
    root.mkdir()
    pid_file = root / "hotplugfsd-1.pid"  # the pool's name for the second daemon's pid file
    pid_file.write_bytes(b"stale\n")
    second = daemon(root=str(root),
                    extra_args=[x for opt, path in old.items() for x in (opt, str(path))])
    assert open(pid_file).read() == f"{second.pid}\n"
    assert old["--log-file"].read_bytes().startswith(b'{"kept":1}\n')
    assert hpfs.write_errno(second.block(73, "state"), b"online\n") == 7
    events = hpfs.read_events(str(old["--event-log"]), source=None)
    assert events[0] == {"kept": 1}
    assert [e["action"] for e in events[1:]] == ["online"]


def ctl(d, *args):
    exe = os.path.join(os.path.dirname(hpfs.daemon_executable()), "hotplugctl")
    return hpfs.run([exe, "--root", d.root, *args], timeout=30)


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_hotplugctl_save_refuses_a_planted_file(daemon, tmp_path, victim, kind):
    d = daemon()
    target = tmp_path / "saved.json"
    plant(kind, target, victim)
    before = os.lstat(target)
    r = ctl(d, "save", str(target))
    assert r.returncode == 1, r
    assert str(target) in r.stderr and REASONS[kind] in r.stderr, r.stderr
    assert_unchanged(victim)
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode, after.st_size) == (
        before.st_ino, before.st_mode, before.st_size)
    # The same name, once it is gone, is saved to.
    os.unlink(target)
    assert ctl(d, "save", str(target)).returncode == 0
    assert b'"format"' in target.read_bytes()


def test_logs_may_go_to_dev_null_but_it_is_never_replaced(daemon, tmp_path):
    d = daemon(extra_args=("--log-file", "/dev/null", "--event-log", "/dev/null"))
    assert hpfs.write_errno(d.block(72, "state"), b"online\n") == 7
    for option in ("--pid-file", "--state"):
        stderr = start_refused(tmp_path, option, "/dev/null")
        assert stderr.endswith("/dev/null: is a character device, not a regular file\n"), stderr
    st = os.stat("/dev/null")
    assert os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
