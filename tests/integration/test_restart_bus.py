"""The private D-Bus socket outlives the daemon too: kept in the store ("bus"), it is served by
the next daemon, so a client that connects while no daemon runs waits for its answer instead of
failing ECONNREFUSED or ENOENT."""

import json
import os
import subprocess
import tempfile
import time

import hpfs
import test_restart

NAME, PATH, IFACE = "org.hotplugfs.HotplugFS", "/org/hotplugfs/HotplugFS", "org.hotplugfs.Manager1"


def get_state(address):
    return subprocess.Popen(["busctl", f"--address={address}", "--json=short", "call", NAME,
                             PATH, IFACE, "GetState"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=hpfs.TOOL_ENV)


def test_a_client_connecting_during_the_restart_is_answered():
    s = test_restart.Service(tempfile.mkdtemp(prefix=hpfs.TEMP_PREFIX))
    clients = []
    try:
        s.start()
        test_restart.wait_stored(s.keeper)
        assert "bus" in s.keeper.names()
        address = f"unix:path={s.top}/bus"
        socket_ino = os.stat(os.path.join(s.top, "bus")).st_ino
        assert hpfs.write_errno(s.path(f"{hpfs.MEM}/memory72/state"), b"online") == 6
        s.kill()
        clients = [get_state(address) for _ in range(3)]
        time.sleep(0.5)
        assert [c.poll() for c in clients] == [None] * 3, "a client did not wait for the daemon"
        s.start()
        ready = time.monotonic()
        for c in clients:
            out, err = c.communicate(timeout=10)
            assert c.returncode == 0, err
            state = json.loads(json.loads(out)["data"][0])
            online = [b for b in state["blocks"] if b["first"] <= 72 <= b["last"]]
            assert online and online[0]["state"] == "online", state["blocks"]
        assert time.monotonic() - ready < 2.0
        assert "took over" in s.log(1), s.log(1)
        # The same socket (not a new one bound in its place), still kept for the next restart.
        assert os.stat(os.path.join(s.top, "bus")).st_ino == socket_ino
        assert s.keeper.names() == test_restart.STORED
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait(timeout=10)
        s.close()
