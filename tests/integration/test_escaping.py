"""Text a user supplied is printed escaped (\\xNN for control bytes) wherever it
leaves the daemon or hotplugctl: a NUL cannot cut a message short, a newline cannot forge a line
of stderr, of the log or of a D-Bus error."""
import os
import subprocess

import hpfs
import test_hotplugctl

HOSTILE = "a\nforged line\x1b[2J\\b"
ESCAPED = "a\\x0aforged line\\x1b[2J\\b"


def test_config_error_is_one_escaped_line(tmp_path):
    config = tmp_path / "config.json"
    # The key holds a newline, an ESC, a backslash and (in the value's key) a NUL, all valid JSON.
    config.write_text('{"parameters": {"a\\nforged line\\u001b[2J\\\\b": 1}}')
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run([hpfs.daemon_executable(), "--config", str(config), "--foreground",
                        str(mnt)], capture_output=True, timeout=30)
    assert r.returncode == 2, r
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1, r.stderr
    assert ESCAPED in lines[0], lines[0]
    assert "\x1b" not in lines[0]

    config.write_text('{"parameters": {"x\\u0000y": 1}}')
    r = subprocess.run([hpfs.daemon_executable(), "--config", str(config), "--foreground",
                        str(mnt)], capture_output=True, timeout=30)
    assert r.returncode == 2
    assert b"\0" not in r.stderr and "x\\x00y" in r.stderr.decode(), r.stderr


def test_dbus_error_and_hotplugctl_line_are_escaped(daemon):
    d = daemon()
    r = test_hotplugctl.ctl(d, "set", HOSTILE, "1")
    assert r.returncode != 0
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert ESCAPED in lines[0], lines[0]


def test_log_lines_are_escaped(daemon, tmp_path):
    """A rules file whose RUN program prints control bytes: its output is logged, escaped, on
    one line."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "50-print.rules").write_text(
        'SUBSYSTEM=="memory", ACTION=="online", RUN+="/usr/bin/printf x\\033[2Jy\\rz"\n')
    log = tmp_path / "daemon.log"
    d = daemon(extra_args=["--rules-dir", str(rules), "--log-file", str(log)])
    block = next(n for n in d.block_ids() if d.state(n) == b"offline\n")
    with open(d.block(block, "state"), "wb", buffering=0) as f:
        f.write(b"online")
    text = hpfs.wait_until(lambda: (log.read_bytes() if b"(out)" in log.read_bytes() else None),
                           what="the RUN program's output in the log")
    out_lines = [line for line in text.split(b"\n") if b"(out)" in line]
    assert len(out_lines) == 1, text
    assert b"\x1b" not in text and b"\r" not in text, text
    assert b"x\\x1b[2Jy\\x0dz" in out_lines[0], out_lines[0]
