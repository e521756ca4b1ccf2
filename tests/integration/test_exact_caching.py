"""What the default (exact) mode lets the kernel cache, and that none of it is ever stale:

- a name that can never exist in its directory (memory5/nonexistent) is answered once and then
  remembered by the kernel (a negative entry); a name that can appear (memory136 before a
  hot-add, a device's directory) is asked every time, so it is there as soon as it exists;
- a listing answers the lookups of its entries (READDIRPLUS): the attributes it hands out agree
  with what stat() and a read show, before and after a change;
- `echo x > file` sends its O_TRUNC inside the OPEN: read-only files still refuse it there.

Each check runs in both modes where the mode does not matter to the user."""

import errno
import os

import pytest

import hpfs


@pytest.fixture(params=["exact", "fast"])
def d(request, daemon):
    d = daemon(extra_args=("--fast",) if request.param == "fast" else ())
    d.fast = request.param == "fast"
    return d


def stat_errno(path):
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno
    return 0


def test_impossible_names_stay_absent(d):
    for _ in range(3):
        assert stat_errno(d.block(5, "nonexistent")) == errno.ENOENT
        assert stat_errno(d.mem("no_such_file")) == errno.ENOENT
        assert stat_errno(d.path(f"{hpfs.NODE}/node0/bogus")) == errno.ENOENT
    # Cached absence does not hide what does exist there.
    assert d.read_mem("memory5/state") == b"online\n"
    assert os.path.islink(d.block(5, "node0"))


def test_a_block_that_appears_is_found_at_once(d):
    """memory136 is looked up (absent) again and again, then hot-added through probe: the next
    stat, open and listing see it, in its node's directory and on the bus too."""
    for _ in range(3):
        assert stat_errno(d.block(136)) == errno.ENOENT
        assert stat_errno(d.path(f"{hpfs.NODE}/node1/memory136")) == errno.ENOENT
        assert stat_errno(d.path(f"{hpfs.BUS}/devices/memory136")) == errno.ENOENT
    assert hpfs.write_errno(d.mem("probe"), b"0x440000000") == 11
    assert stat_errno(d.block(136)) == 0
    assert d.state(136) == b"offline\n"
    assert "memory136" in os.listdir(d.mem())
    node = [n for n in os.listdir(d.block(136)) if n.startswith("node")]
    assert len(node) == 1
    assert stat_errno(d.path(f"{hpfs.NODE}/{node[0]}/memory136")) == 0
    assert stat_errno(d.path(f"{hpfs.BUS}/devices/memory136")) == 0


def test_listing_attributes_agree_with_reads(d):
    """Sizes and modes that a listing hands out (ls -l) match stat() and the bytes read, before
    and after a change that changes a file's length. The exact mode says 4096 of a file that can
    change, as sysfs does (it is read with direct I/O); --fast says its content length (the page
    cache serves it)."""
    def size(content):
        return "4096" if not d.fast else str(len(content))

    def listed(block):
        out = hpfs.run(["ls", "-ln", "--time-style=+", d.block(block)]).stdout
        rows = {}
        for line in out.splitlines()[1:]:
            f = line.split()
            rows[f[-1] if not f[0].startswith("l") else f[-3]] = (f[0], f[4])
        return rows

    before = listed(72)
    assert before["state"] == ("-rw-r--r--", size(d.state(72)))
    assert before["phys_index"] == ("-r--r--r--", "9")
    assert d.read_mem("memory72/valid_zones") == b"Normal Movable\n"
    with open(d.block(72, "state"), "w") as f:
        f.write("online_movable")
    assert d.state(72) == b"online\n"
    after = listed(72)
    assert after["state"][1] == size(b"online\n") == str(os.stat(d.block(72, "state")).st_size)
    assert after["valid_zones"][1] == size(b"Movable\n")
    assert d.read_mem("memory72/valid_zones") == b"Movable\n"


def test_echo_truncating_open(d):
    r = hpfs.bash("echo online_movable > state && cat state", cwd=d.block(73))
    assert (r.returncode, r.stdout) == (0, "online\n"), r.stderr
    r = hpfs.bash("echo x > phys_index", cwd=d.block(73))
    assert (hpfs.strip_bash_prefix(r.stderr), r.returncode) == ("phys_index: Permission denied", 1)
    assert d.read_mem("memory73/phys_index") == b"00000049\n"
