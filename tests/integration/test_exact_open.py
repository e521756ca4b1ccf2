"""open() permission checks. The kernel refuses to open an attribute without a store for writing
and the write-only probe for reading (EACCES). The daemon does the same in both modes (every
OPEN reaches it: writers get a different open mode from readers); --exact-open and --strict are
accepted and change nothing. An open with O_TRUNC (what `echo x > file` does) fails at open()."""

import errno
import os

import pytest

import hpfs


@pytest.fixture(params=[(), ("--exact-open",), ("--strict",), ("--fast",)],
                ids=["default", "exact-open", "strict", "fast"])
def exact(daemon, request):
    return daemon(extra_args=request.param)


def open_errno(path, flags):
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return exc.errno
    os.close(fd)
    return 0


# --- the default (exact) mode -----------------------------------------------------------------
def test_exact_open_refuses_like_the_kernel(exact):
    d = exact
    assert open_errno(d.block(5, "phys_index"), os.O_WRONLY) == errno.EACCES
    assert open_errno(d.block(5, "phys_index"), os.O_RDWR) == errno.EACCES
    assert open_errno(d.block(5, "valid_zones"), os.O_WRONLY) == errno.EACCES
    assert open_errno(d.mem("block_size_bytes"), os.O_WRONLY) == errno.EACCES
    assert open_errno(d.mem("probe"), os.O_RDONLY) == errno.EACCES
    assert open_errno(d.mem("probe"), os.O_RDWR) == errno.EACCES
    assert open_errno(d.path(f"{hpfs.PARAMS}/memmap_on_memory"), os.O_WRONLY) == errno.EACCES


def test_exact_open_allows_what_the_kernel_allows(exact):
    d = exact
    assert open_errno(d.block(5, "phys_index"), os.O_RDONLY) == 0
    assert open_errno(d.block(5, "state"), os.O_RDWR) == 0
    assert open_errno(d.mem("probe"), os.O_WRONLY) == 0
    assert d.read_mem("memory5/phys_index") == b"00000005\n"
    assert hpfs.write_errno(d.block(72, "state"), b"online\n") == 7
    assert d.state(72) == b"online\n"
    assert hpfs.write_errno(d.mem("probe"), b"0x440000000\n") == 12
    assert d.state(136) == b"offline\n"


def test_exact_open_echo_read_only(exact):
    r = hpfs.bash("echo x > block_size_bytes", cwd=exact.mem())
    assert (hpfs.strip_bash_prefix(r.stderr), r.returncode) == (
        "block_size_bytes: Permission denied", 1)


def test_exact_open_cat_probe(exact):
    r = hpfs.run(["cat", "probe"], cwd=exact.mem())
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "cat: probe: Permission denied\n")


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_o_trunc_on_read_only_fails_at_open(daemon, mode):
    d = daemon(extra_args=("--fast",) if mode == "fast" else ())
    flags = os.O_WRONLY | os.O_TRUNC
    assert open_errno(d.mem("block_size_bytes"), flags) == errno.EACCES
    assert open_errno(d.block(5, "phys_index"), flags) == errno.EACCES
    r = hpfs.bash("echo x > block_size_bytes", cwd=d.mem())
    assert (hpfs.strip_bash_prefix(r.stderr), r.returncode) == (
        "block_size_bytes: Permission denied", 1)
    assert d.read_mem("block_size_bytes") == b"8000000\n"


def test_exact_truncate_of_read_only_is_accepted_for_root(exact):
    """kernfs accepts and ignores truncate() of any attribute for root (the mode bits do not
    stop root); so does the daemon, where O_TRUNC comes inside the OPEN instead."""
    d = exact
    os.truncate(d.block(5, "phys_index"), 0)
    os.truncate(d.mem("block_size_bytes"), 0)
    assert d.read_mem("memory5/phys_index") == b"00000005\n"
    assert d.read_mem("block_size_bytes") == b"8000000\n"
