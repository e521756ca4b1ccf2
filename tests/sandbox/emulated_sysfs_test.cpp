// The emulated tree over /sys in a private mount namespace: a scratch directory imitates the
// daemon's sysfs root, so no FUSE mount is needed.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <sstream>

#include "sandbox/emulated_sysfs.h"
#include "sandbox/program_runner.h"
#include "test_support.h"

namespace sb = hotplugfs::sandbox;
using namespace hotplugfs::sandbox::testing;

namespace {

const std::vector<std::string> kEnv = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
const char* kMarker = "/sys/devices/system/memory/marker";

sb::RunResult sh_in(const fs::path& root, const std::string& script) {
    return sb::run_program({{"/bin/sh", "-c", script}, kEnv, root.string(), 10s});
}

// The mounts at or below /sys that this process sees (other tests may mount elsewhere).
std::vector<std::string> sys_mounts() {
    std::ifstream in("/proc/self/mountinfo");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, point;
        fields >> id >> parent >> dev >> root >> point;
        if (point.rfind("/sys", 0) == 0) out.push_back(line);
    }
    return out;
}

bool exists(const char* path) {
    struct stat st {};
    return ::stat(path, &st) == 0;
}

}  // namespace

TEST_CASE("the emulated tree is bound over /sys only inside the child", "[sysfs]") {
    if (!exists("/sys/devices/system/memory")) {
        WARN("this host has no /sys/devices/system/memory to cover");
        return;
    }
    REQUIRE_FALSE(exists(kMarker));
    const std::vector<std::string> mounts_before = sys_mounts();
    TempDir root;
    write_file(root.path() / "devices/system/memory/marker", "emulated\n");

    const sb::RunResult r = sh_in(root.path(), "cat /sys/devices/system/memory/marker");
    CHECK(r.spawn_error == "");
    CHECK(r.exit_status == 0);
    CHECK(r.out == "emulated\n");
    CHECK(r.sysfs_bound == std::vector<std::string>{"/sys/devices/system/memory"});

    CHECK_FALSE(exists(kMarker));
    CHECK(sys_mounts() == mounts_before);
}

TEST_CASE("optional directories are bound when the tree has them", "[sysfs]") {
    if (!exists("/sys/devices/system/memory") || !exists("/sys/devices/system/node")) {
        WARN("this host has no memory or node directory in /sys");
        return;
    }
    TempDir root;
    write_file(root.path() / "devices/system/memory/marker", "m\n");
    write_file(root.path() / "devices/system/node/marker", "n\n");
    const sb::RunResult r = sh_in(root.path(), "cat /sys/devices/system/node/marker");
    CHECK(r.out == "n\n");
    CHECK(r.sysfs_bound ==
          std::vector<std::string>{"/sys/devices/system/memory", "/sys/devices/system/node"});
    CHECK_FALSE(exists("/sys/devices/system/node/marker"));
}

TEST_CASE("the CPU directories are bound with the node directory", "[sysfs]") {
    if (!exists("/sys/devices/system/memory") || !exists("/sys/devices/system/cpu") ||
        !exists("/sys/bus/cpu")) {
        WARN("this host has no memory or cpu directory in /sys");
        return;
    }
    // Nodes list the configured CPUs: a topology reader must find those, not the host's.
    TempDir root;
    write_file(root.path() / "devices/system/memory/marker", "m\n");
    write_file(root.path() / "devices/system/cpu/marker", "c\n");
    write_file(root.path() / "bus/cpu/marker", "b\n");
    const sb::RunResult r =
        sh_in(root.path(), "cat /sys/devices/system/cpu/marker /sys/bus/cpu/marker");
    CHECK(r.out == "c\nb\n");
    CHECK(r.sysfs_bound == std::vector<std::string>{"/sys/devices/system/memory",
                                                    "/sys/devices/system/cpu", "/sys/bus/cpu"});
    CHECK_FALSE(exists("/sys/devices/system/cpu/marker"));
}

TEST_CASE("the memory tier directories are bound when the host has them", "[sysfs]") {
    if (!exists("/sys/devices/system/memory") ||
        !exists("/sys/devices/virtual/memory_tiering") || !exists("/sys/kernel/mm/numa")) {
        WARN("this host has no memory tiers in /sys (Linux 6.1 or later has them)");
        return;
    }
    TempDir root;
    write_file(root.path() / "devices/system/memory/marker", "m\n");
    write_file(root.path() / "devices/virtual/memory_tiering/marker", "t\n");
    write_file(root.path() / "kernel/mm/numa/marker", "n\n");
    const sb::RunResult r = sh_in(root.path(),
                                  "cat /sys/devices/virtual/memory_tiering/marker "
                                  "/sys/kernel/mm/numa/marker");
    CHECK(r.out == "t\nn\n");
    CHECK(r.sysfs_bound ==
          std::vector<std::string>{"/sys/devices/system/memory",
                                   "/sys/devices/virtual/memory_tiering", "/sys/kernel/mm/numa"});
    CHECK_FALSE(exists("/sys/kernel/mm/numa/marker"));
}

TEST_CASE("a tree without the memory directory is refused", "[sysfs]") {
    if (!exists("/sys/devices/system/memory")) {
        WARN("this host has no /sys/devices/system/memory to cover");
        return;
    }
    // Running anyway would let the program write to the host's real memory sysfs.
    TempDir root;
    write_file(root.path() / "devices/system/node/marker", "n\n");
    const sb::RunResult r = sh_in(root.path(), "echo ran");
    CHECK(r.spawn_errno == ENOENT);
    CHECK(r.out == "");
    CHECK(r.spawn_error.find("/sys/devices/system/memory") != std::string::npos);
}

TEST_CASE("EmulatedSysfs works over any sysfs root in a forked child", "[sysfs]") {
    // What `hotplugctl run` does: fork, enter(), exec. Here the host side is a scratch
    // directory too, so the test also covers the skipping of missing targets.
    TempDir root, sys;
    write_file(root.path() / "devices/system/memory/marker", "emulated\n");
    write_file(root.path() / "bus/memory/marker", "bus\n");
    fs::create_directories(sys.path() / "devices/system/memory");
    const sb::EmulatedSysfs sysfs(root.path().string(), sys.path().string());
    const std::string seen = (sys.path() / "devices/system/memory/marker").string();

    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const sb::EmulatedSysfs::Outcome o = sysfs.enter();
        struct stat st {};
        ::_exit(o.error == 0 && o.bound == 1U && ::stat(seen.c_str(), &st) == 0 ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_FALSE(fs::exists(seen));
}

TEST_CASE("a host without the memory directory gets a writable place for it", "[sysfs]") {
    // A container's /sys without devices/system/memory: a tmpfs covers devices/system, the
    // old entries are bound back, and the emulated directories are bound into it.
    TempDir root, sys;
    write_file(root.path() / "devices/system/memory/marker", "emulated\n");
    write_file(root.path() / "devices/system/node/marker", "node\n");
    write_file(sys.path() / "devices/system/cpu/online", "0-1\n");
    fs::create_symlink("cpu", sys.path() / "devices/system/cpu-link");
    const sb::EmulatedSysfs sysfs(root.path().string(), sys.path().string());
    const std::string memory = (sys.path() / "devices/system/memory/marker").string();
    const std::string node = (sys.path() / "devices/system/node/marker").string();
    const std::string cpu = (sys.path() / "devices/system/cpu/online").string();
    const std::string link = (sys.path() / "devices/system/cpu-link/online").string();

    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const sb::EmulatedSysfs::Outcome o = sysfs.enter();
        struct stat st {};
        const bool ok = o.error == 0 && o.bound == 3U && ::stat(memory.c_str(), &st) == 0 &&
                        ::stat(node.c_str(), &st) == 0 && ::stat(cpu.c_str(), &st) == 0 &&
                        ::stat(link.c_str(), &st) == 0;
        ::_exit(ok ? 0 : 1 + o.error);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_FALSE(fs::exists(sys.path() / "devices/system/memory"));
    CHECK(fs::exists(cpu));
}
