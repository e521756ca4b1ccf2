"""The Debian package: packaging/build-deb.sh builds it (a real release build of the project),
then the package is unpacked into a scratch root with `dpkg -x` and its layout is checked
against what the systemd unit, the D-Bus files and the man pages expect."""

import configparser
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

import hpfs

BUILD_DEB = os.path.join(hpfs.REPO, "packaging", "build-deb.sh")
# The package build compiles the whole project in release mode.
BUILD_TIMEOUT = 840

UNIT = "lib/systemd/system/hotplugfs.service"
BUS_NAME = "org.hotplugfs.HotplugFS"
DBUS_POLICY = f"usr/share/dbus-1/system.d/{BUS_NAME}.conf"
DBUS_SERVICE = f"usr/share/dbus-1/system-services/{BUS_NAME}.service"
TMPFILES = "usr/lib/tmpfiles.d/hotplugfs.conf"
SYSUSERS = "usr/lib/sysusers.d/hotplugfs.conf"
CONFIG = "etc/hotplugfs/machine.json"
RULES = "usr/share/hotplugfs/udev-rules"


def run(cmd, timeout=60, **kwargs):
    return subprocess.run(cmd, env=hpfs.TOOL_ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="module")
def package():
    """Builds the .deb once for the module; returns (path of the .deb, scratch root)."""
    tmp = tempfile.mkdtemp(prefix="hotplugfs-pkg-")
    try:
        out = os.path.join(tmp, "out")
        env = dict(hpfs.TOOL_ENV, DEB_BUILD_OPTIONS="nocheck noopt noautodbgsym parallel=2",
                   TMPDIR=tmp)
        started = time.monotonic()
        # In a session of its own, so that a build that overruns is stopped as a whole.
        build = subprocess.Popen(["nice", BUILD_DEB, out], env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True)
        try:
            log, _ = build.communicate(timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(build.pid, signal.SIGKILL)
            log, _ = build.communicate()
            pytest.fail(f"build-deb.sh took more than {BUILD_TIMEOUT} s:\n{log[-12000:]}")
        elapsed = time.monotonic() - started
        assert build.returncode == 0, f"build-deb.sh failed ({build.returncode}):\n{log[-12000:]}"
        print(f"package build took {elapsed:.0f} s")
        debs = sorted(f for f in os.listdir(out) if f.endswith(".deb"))
        assert len(debs) == 1, f"expected exactly one .deb, got {debs}"
        deb = os.path.join(out, debs[0])
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        extract = run(["dpkg", "-x", deb, root])
        assert extract.returncode == 0, extract.stdout
        yield deb, root
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def in_root(root, path):
    return os.path.join(root, path.lstrip("/"))


def unit_config(root):
    """The unit file as {section: {key: [values]}} (keys may repeat, as SystemCallFilter= does;
    a trailing backslash continues a line)."""
    sections, section, pending = {}, None, ""
    with open(in_root(root, UNIT)) as f:
        for raw in f:
            line = pending + raw.strip()
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = sections.setdefault(line[1:-1], {})
                continue
            key, _, value = line.partition("=")
            section.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_metadata(package):
    deb, _ = package
    info = run(["dpkg-deb", "-I", deb])
    assert info.returncode == 0, info.stdout
    field = {}
    for name in ("Package", "Version", "Architecture", "Depends", "Maintainer", "Description"):
        f = run(["dpkg-deb", "-f", deb, name])
        assert f.returncode == 0, f.stdout
        field[name] = f.stdout.strip()
    assert field["Package"] == "hotplugfs"
    assert field["Version"] and field["Version"][0].isdigit()
    assert field["Architecture"] == run(["dpkg", "--print-architecture"]).stdout.strip()
    depends = [d.strip().split()[0] for d in field["Depends"].split(",")]
    assert "fuse3" in depends, field["Depends"]
    # ${shlibs:Depends} was filled in: the binaries link libfuse3 and libc.
    assert any(d.startswith("libfuse3") for d in depends), field["Depends"]
    assert "libc6" in depends, field["Depends"]
    assert field["Description"].startswith("emulated Linux memory-hotplug sysfs")

    # Maintainer scripts from dh_installsystemd: enabled, not started on installation.
    control = tempfile.mkdtemp(prefix="hotplugfs-pkg-control-")
    try:
        assert run(["dpkg-deb", "-e", deb, control]).returncode == 0
        with open(os.path.join(control, "conffiles")) as f:
            assert "/etc/hotplugfs/machine.json" in f.read().split()
        with open(os.path.join(control, "postinst")) as f:
            postinst = f.read()
        assert "deb-systemd-helper" in postinst and "hotplugfs.service" in postinst
        assert "deb-systemd-invoke start" not in postinst, "the service must not start on install"
        assert "deb-systemd-invoke try-restart 'hotplugfs.service'" in postinst, postinst
        assert "systemd-tmpfiles" in postinst and "systemd-sysusers" in postinst
        assert os.path.exists(os.path.join(control, "postrm"))
    finally:
        shutil.rmtree(control, ignore_errors=True)


def test_binaries(package):
    _, root = package
    for path in ("usr/sbin/hotplugfsd", "usr/bin/hotplugctl"):
        full = in_root(root, path)
        assert os.path.isfile(full), path
        assert os.access(full, os.X_OK), path
    out = run([in_root(root, "usr/sbin/hotplugfsd"), "--help"])
    assert out.returncode == 0, out.stdout
    assert "Usage: hotplugfsd" in out.stdout
    out = run([in_root(root, "usr/bin/hotplugctl"), "--help"])
    assert out.returncode == 0, out.stdout
    assert "Usage: hotplugctl" in out.stdout


def test_nothing_else_installed(package):
    """Tests, benchmarks and udev's own rules directories stay out of the package."""
    deb, root = package
    listing = run(["dpkg-deb", "-c", deb]).stdout
    for bad in ("-tests", "hotplugfs-bench", "hotplugfs-stress", "rules-parser-fuzz",
                "state-loader-fuzz", "/lib/udev/rules.d/", "/etc/udev/rules.d/"):
        assert bad not in listing, f"{bad} is in the package:\n{listing}"
    files = [os.path.join(d, f) for d, _, fs in os.walk(in_root(root, "usr/bin")) for f in fs]
    files += [os.path.join(d, f) for d, _, fs in os.walk(in_root(root, "usr/sbin")) for f in fs]
    assert sorted(os.path.basename(f) for f in files) == ["hotplugctl", "hotplugfsd"]


def test_systemd_unit(package):
    _, root = package
    assert os.path.isfile(in_root(root, UNIT))
    unit = unit_config(root)
    service = unit["Service"]
    assert service["Type"] == ["notify"]
    argv = shlex.split(service["ExecStart"][0])
    exe = argv[0].lstrip("-@:+!")
    assert exe == "/usr/sbin/hotplugfsd"
    assert os.access(in_root(root, exe), os.X_OK), f"ExecStart binary {exe} is not in the package"
    assert "--foreground" in argv and "--bus=system" in argv
    # Every file the command line names is shipped or created by the unit.
    config = argv[argv.index("--config") + 1]
    assert os.path.isfile(in_root(root, config)), config
    assert argv[argv.index("--state") + 1].startswith("/var/lib/hotplugfs/")
    mountpoint = argv[-1]
    assert mountpoint == "/run/hotplugfs/sys"
    runtime = service["RuntimeDirectory"][0].split()
    assert "hotplugfs" in runtime and "hotplugfs/sys" in runtime
    assert service["StateDirectory"] == ["hotplugfs"]
    stop = shlex.split(service["ExecStop"][0])
    assert stop[0].lstrip("-@:+!").endswith("/fusermount3") and "-u" in stop
    assert stop[-1] == mountpoint
    # Restarts keep the mount: the FUSE connection ("fuse", "fuse-init", "fuse-inflight"), the
    # D-Bus socket ("bus") and the udev namespace ("udev-netns") wait in the fd store.
    assert service["Restart"] == ["on-failure"]
    assert int(service["FileDescriptorStoreMax"][0]) >= 5
    assert "/dev/fuse rw" in service["DeviceAllow"]
    assert service["CapabilityBoundingSet"] == ["CAP_SYS_ADMIN"]
    assert service["BusName"] == [BUS_NAME]
    # The mount must be visible on the host: no setting that gives the service a mount namespace.
    namespacing = {"PrivateTmp", "PrivateDevices", "PrivateMounts", "ProtectSystem", "ProtectHome",
                   "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                   "ProtectControlGroups", "ProtectProc", "ProcSubset", "PrivateIPC",
                   "PrivateNetwork", "PrivateUsers", "ReadOnlyPaths", "ReadWritePaths",
                   "InaccessiblePaths", "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths",
                   "RootDirectory", "RootImage"}
    assert not namespacing & set(service), sorted(namespacing & set(service))
    assert service.get("MountFlags", ["shared"]) == ["shared"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]

    # systemd's own parser, in a copy of the scratch root (where ExecStart= is resolved) that
    # also holds the host's units (targets and sockets the unit depends on). It prints a line
    # for every key or value it does not understand, without failing: none may be printed.
    vroot = tempfile.mkdtemp(prefix="hotplugfs-pkg-verify-")
    try:
        shutil.copytree(root, vroot, symlinks=True, dirs_exist_ok=True)
        units = in_root(vroot, os.path.dirname(UNIT))
        shutil.copytree("/lib/systemd/system", units, symlinks=True, dirs_exist_ok=True)
        shutil.copy(in_root(root, UNIT), units)
        # ExecReload= runs the system's kill(1), which the package does not ship.
        reload = shlex.split(service["ExecReload"][0])[0].lstrip("-@:+!")
        assert reload == "/bin/kill", reload
        os.makedirs(in_root(vroot, "/bin"), exist_ok=True)
        shutil.copy(reload, in_root(vroot, reload))
        verify = run(["systemd-analyze", "verify", f"--root={vroot}", "--man=no",
                      in_root(vroot, UNIT)], timeout=120)
        assert verify.returncode == 0 and not verify.stdout.strip(), verify.stdout
    finally:
        shutil.rmtree(vroot, ignore_errors=True)


def test_dbus_files(package):
    _, root = package
    policy = ET.parse(in_root(root, DBUS_POLICY)).getroot()
    assert policy.tag == "busconfig"
    owners = {p.get("user") or p.get("context"): [a.get("own") for a in p.findall("allow")]
              for p in policy.findall("policy")}
    assert BUS_NAME in owners.get("root", []), owners
    assert all(BUS_NAME not in names for who, names in owners.items() if who != "root"), owners
    sends = [a.get("send_destination") for p in policy.findall("policy")
             if p.get("context") == "default" for a in p.findall("allow")]
    assert BUS_NAME in sends

    activation = configparser.RawConfigParser()
    activation.optionxform = str
    activation.read(in_root(root, DBUS_SERVICE))
    section = activation["D-BUS Service"]
    assert section["Name"] == BUS_NAME
    assert section["SystemdService"] == "hotplugfs.service"
    assert section["User"] == "root"
    # The service it names is the unit shipped next to it.
    assert os.path.basename(UNIT) == section["SystemdService"]


def test_dbus_files_in_a_bus(package):
    """A private system-type dbus-daemon that reads the shipped policy and activation file: the
    name is activatable, root may own it, nobody may not."""
    _, root = package
    tmp = tempfile.mkdtemp(prefix="hotplugfs-pkg-bus-")
    os.chmod(tmp, 0o755)
    sock = os.path.join(tmp, "socket")
    conf = os.path.join(tmp, "bus.conf")
    with open(conf, "w") as f:
        f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>
  <servicedir>{os.path.dirname(in_root(root, DBUS_SERVICE))}</servicedir>
  <includedir>{os.path.dirname(in_root(root, DBUS_POLICY))}</includedir>
</busconfig>
""")
    bus = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork", "--nosyslog"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            assert bus.poll() is None, f"dbus-daemon refused the policy: {bus.stderr.read()}"
            assert time.monotonic() < deadline, "dbus-daemon did not start"
            time.sleep(0.05)
        os.chmod(sock, 0o666)
        bus_call = ["dbus-send", f"--bus=unix:path={sock}", "--print-reply",
                    "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus"]
        names = run([*bus_call, "org.freedesktop.DBus.ListActivatableNames"], timeout=30)
        assert names.returncode == 0 and f'"{BUS_NAME}"' in names.stdout, names.stdout
        request = ["dbus-send", f"--bus=unix:path={sock}", "--print-reply",
                   "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                   "org.freedesktop.DBus.RequestName", f"string:{BUS_NAME}", "uint32:0"]
        as_root = run(request, timeout=30)
        assert as_root.returncode == 0 and "uint32 1" in as_root.stdout, as_root.stdout
        as_nobody = run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                         *request], timeout=30)
        assert as_nobody.returncode != 0
        assert "AccessDenied" in as_nobody.stdout, as_nobody.stdout
    finally:
        bus.terminate()
        try:
            bus.wait(timeout=10)
        except subprocess.TimeoutExpired:
            bus.kill()
            bus.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def test_tmpfiles_and_sysusers(package):
    _, root = package
    with open(in_root(root, TMPFILES)) as f:
        entries = [line.split() for line in f if line.strip() and not line.startswith("#")]
    dirs = {e[1]: e[2] for e in entries if e[0] == "d"}
    assert dirs.get("/run/hotplugfs") == "0755", entries
    assert "/run/hotplugfs/sys" in dirs
    with open(in_root(root, SYSUSERS)) as f:
        entries = [line.split() for line in f if line.strip() and not line.startswith("#")]
    assert ["g", "hotplugfs", "-"] in entries


def test_man_pages(package):
    _, root = package
    for page, section in (("hotplugfsd", 8), ("hotplugctl", 1)):
        path = in_root(root, f"usr/share/man/man{section}/{page}.{section}.gz")
        assert os.path.isfile(path), path
        out = run(["man", "-l", path], timeout=60)
        assert out.returncode == 0, out.stdout
        assert page in out.stdout and "SYNOPSIS" in out.stdout
    # The daemon's page documents every option its --help lists.
    help_text = run([in_root(root, "usr/sbin/hotplugfsd"), "--help"]).stdout
    options = {m.group(1) for m in re.finditer(r"^ {2}(?:-\w, )?(--[a-z][a-z-]*)", help_text, re.M)}
    assert "--config" in options and "--foreground" in options, help_text
    page = run(["sh", "-c", f"zcat {shlex.quote(in_root(root, 'usr/share/man/man8/hotplugfsd.8.gz'))}"]).stdout
    page = page.replace("\\-", "-")
    missing = sorted(o for o in options if o not in page)
    assert not missing, f"options of --help missing from hotplugfsd(8): {missing}"


def test_config_and_rules(package):
    _, root = package
    with open(in_root(root, CONFIG)) as f:
        machine = json.load(f)
    assert machine["block_size"] and machine["memory"]
    with open(os.path.join(hpfs.REPO, "examples", "default.json")) as f:
        assert machine == json.load(f)
    for rules in ("80-memory-online.rules", "movable/80-memory-online.rules",
                  "virt/80-memory-online.rules"):
        assert os.path.isfile(in_root(root, f"{RULES}/{rules}")), rules
