"""open() permission checks. The kernel refuses to open an attribute without a store for writing
and the write-only probe for reading (EACCES). The daemon does the same by default (the exact
mode), with no option; with --fast such an open succeeds and the first write()/read() fails
EACCES instead. --exact-open and --strict are accepted and change nothing. An open with O_TRUNC
(what `echo x > file` does) fails at open() in both modes."""

import errno
import os

import pytest

import hpfs


@pytest.fixture(params=[(), ("--exact-open",), ("--strict",)], ids=["default", "exact-open",
                                                                   "strict"])
def exact(daemon, request):
    return daemon(extra_args=request.param)


@pytest.fixture
def fast(daemon):
    return daemon(extra_args=("--fast",))


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


# --- --fast --------------------------------------------------------------------------------------
def test_fast_mode_write_to_read_only_fails_at_write(fast):
    d = fast
    fd = os.open(d.block(5, "phys_index"), os.O_WRONLY)  # documented: the open succeeds
    try:
        with pytest.raises(OSError) as exc:
            os.write(fd, b"x")
        assert exc.value.errno == errno.EACCES
    finally:
        os.close(fd)
    assert d.read_mem("memory5/phys_index") == b"00000005\n"
    assert d.read_mem("memory5/state") == b"online\n"


def test_fast_mode_read_of_probe_fails_at_read(fast):
    fd = os.open(fast.mem("probe"), os.O_RDONLY)  # documented: the open succeeds
    try:
        with pytest.raises(OSError) as exc:
            os.read(fd, 4096)
        assert exc.value.errno == errno.EACCES
    finally:
        os.close(fd)


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
    stop root); so does the exact mode, where O_TRUNC comes inside the OPEN instead."""
    d = exact
    os.truncate(d.block(5, "phys_index"), 0)
    os.truncate(d.mem("block_size_bytes"), 0)
    assert d.read_mem("memory5/phys_index") == b"00000005\n"
    assert d.read_mem("block_size_bytes") == b"8000000\n"


def test_fast_truncate_of_read_only_fails(fast):
    """--fast cannot tell truncate() from open(O_TRUNC): both come as a size change, refused
    on read-only files (documented)."""
    with pytest.raises(OSError) as exc:
        os.truncate(fast.block(5, "phys_index"), 0)
    assert exc.value.errno == errno.EACCES
    assert fast.read_mem("memory5/phys_index") == b"00000005\n"
