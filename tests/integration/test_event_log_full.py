"""--event-log on a full file system: every line stays one whole JSON object (a write that stops
short is cut off again), the failure is logged once with the path and the errno, the D-Bus
property EventLogState says "failing: ...", the mount keeps serving, and once there is space
again the next line is preceded by {"source":"event-log","lost":N,"first_seqnum":A,
"last_seqnum":B} for exactly the lines that are missing."""

import json
import os
import subprocess

import pytest

import hpfs

NAME = "org.hotplugfs.HotplugFS"
PATH = "/org/hotplugfs/HotplugFS"
IFACE = "org.hotplugfs.Manager1"
BLOCK = 72  # offline in the built-in machine


@pytest.fixture
def tiny_fs(tmp_path):
    """A 64 KiB tmpfs; yields (its directory, fill(), free())."""
    with hpfs.small_tmpfs(tmp_path / "tiny", "64k") as fs:
        yield fs


def event_log_state(d):
    r = subprocess.run(["busctl", f"--address=unix:path={d.root}/bus", "get-property", NAME, PATH,
                        IFACE, "EventLogState"], capture_output=True, text=True, timeout=30,
                       env=hpfs.TOOL_ENV)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.split(" ", 1)[1])  # 's "ok"'


def lines(log):
    """Every line of the log parsed; fails on a line that is not one whole JSON object."""
    data = log.read_bytes()
    assert data.endswith(b"\n"), data[-200:]
    out = []
    for raw in data.split(b"\n")[:-1]:
        obj = json.loads(raw)
        assert isinstance(obj, dict), raw
        out.append(obj)
    return out


def toggle(d, times, seqnum):
    """Writes offline/online to memory72's state `times` times; each write is one uevent.
    Returns the SEQNUMs those events got."""
    caused = []
    for i in range(times):
        word = b"online\n" if d.state(BLOCK) == b"offline\n" else b"offline\n"
        assert hpfs.write_errno(d.block(BLOCK, "state"), word) == len(word)
        assert d.state(BLOCK) == word, "the mount keeps serving"
        seqnum += 1
        caused.append(seqnum)
    return caused


def test_a_full_file_system_loses_whole_lines_and_says_so(daemon, tiny_fs, tmp_path):
    mnt, fill, free = tiny_fs
    log = mnt / "events.jsonl"
    daemon_log = tmp_path / "daemon.log"
    d = daemon(extra_args=("--event-log", str(log), "--log-file", str(daemon_log)))
    assert event_log_state(d) == "ok"
    first = toggle(d, 1, 0)  # SEQNUMs: the built-in machine has sent none yet
    before = lines(log)
    seqnum = before[-1]["seqnum"]
    assert first == [seqnum]

    fill()
    # The log's last page may still take a line or two, then a line stops short (cut off
    # again) and the rest fail with ENOSPC.
    caused = toggle(d, 40, seqnum)
    written = [e["seqnum"] for e in lines(log) if e["seqnum"] > seqnum]
    lost = [s for s in caused if s not in written]
    assert written == caused[:len(written)], "lost lines are the last ones, none after"
    assert len(lost) > 10, (written, caused)
    assert all(e["source"] == "kernel" for e in lines(log))
    assert event_log_state(d) == "failing: No space left on device"
    text = daemon_log.read_text()
    failure = f"event log {log}: No space left on device (ENOSPC)"
    assert text.count(failure) == 1, text
    assert text.count(f"event log {log}:") == 1, text
    assert hpfs.call_errno(os.listdir, d.mem())[0] == "ok"

    free()
    [last] = toggle(d, 1, caused[-1])
    tail = lines(log)[len(before) + len(written):]
    assert tail == [
        {"source": "event-log", "lost": len(lost), "first_seqnum": lost[0],
         "last_seqnum": lost[-1]},
        tail[1],
    ], tail
    assert tail[1]["seqnum"] == last and tail[1]["source"] == "kernel"
    assert lost == list(range(lost[0], lost[-1] + 1))
    assert event_log_state(d) == "ok"
    assert f"event log {log}: written again; {len(lost)} lines" in daemon_log.read_text()
    # hotplugctl monitor skips the log's own line.
    ctl = os.path.join(os.path.dirname(hpfs.daemon_executable()), "hotplugctl")
    proc = subprocess.Popen([ctl, "monitor", "--event-log", str(log), "--replay", "--kernel"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, _ = proc.communicate(timeout=1)
    except subprocess.TimeoutExpired:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    printed = [line for line in out.splitlines() if line.startswith("KERNEL[")]
    assert len(printed) == len(lines(log)) - 1, out


def test_without_an_event_log_the_state_is_off(daemon):
    d = daemon()
    assert event_log_state(d) == "off"
