// The private network namespace and the udev broadcast in it, checked with the real
// `udevadm monitor` (systemd 252): it must print the events sent in the namespace, apply its
// in-kernel subsystem filter to them, and a monitor in the host's namespace must see nothing.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

#include "sandbox/udev_netlink.h"
#include "test_support.h"

namespace sb = hotplugfs::sandbox;
using namespace hotplugfs::sandbox::testing;

namespace {

const std::string kReady = "UDEV - the event which udev sends out after rule processing";

sb::UdevProperties event(const std::string& subsystem, const std::string& devpath,
                         const std::string& seqnum) {
    return {{"ACTION", "add"},        {"DEVPATH", devpath}, {"SUBSYSTEM", subsystem},
            {"SYNTH_UUID", "0"},      {"SEQNUM", seqnum},   {"USEC_INITIALIZED", "1"},
            {"HOTPLUGFS_RULE", "yes"}};
}

bool have_tools() {
    for (const char* tool : {"/usr/bin/udevadm", "/usr/bin/nsenter"})
        if (!fs::exists(tool)) {
            WARN(std::string(tool) + " is missing (packages udev, util-linux)");
            return false;
        }
    return true;
}

}  // namespace

TEST_CASE("PrivateNetns publishes a new namespace at a path and takes it away", "[netns]") {
    TempDir dir;
    const fs::path path = dir.path() / "netns" / "hotplugfs";
    {
        sb::PrivateNetns ns(path.string());
        CHECK(ns.path() == path.string());
        CHECK(sb::netns_at(path.string()) == ns.id());
        CHECK(ns.id() != ns.host_id());
        CHECK(ns.host_id() == sb::netns_at("/proc/self/ns/net"));
        // The daemon's own threads stay in the host's namespace.
        CHECK(sb::netns_at("/proc/thread-self/ns/net") == ns.host_id());
        CHECK_THROWS_AS(sb::PrivateNetns(path.string()), std::runtime_error);
    }
    CHECK_FALSE(fs::exists(path));
    CHECK_FALSE(fs::exists(path.parent_path()));
}

TEST_CASE("PrivateNetns keeps a file it did not create and refuses a directory", "[netns]") {
    TempDir dir;
    const fs::path path = dir.path() / "ns";
    write_file(path, "");
    {
        sb::PrivateNetns ns(path.string());
        CHECK(sb::netns_at(path.string()) == ns.id());
    }
    CHECK(fs::exists(path));
    struct stat st {};
    REQUIRE(::stat(path.string().c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK_THROWS_AS(sb::PrivateNetns(dir.path().string()), std::runtime_error);
}

TEST_CASE("PrivateNetns takes over a namespace handed back, bound or not", "[netns]") {
    TempDir dir;
    const std::string first = (dir.path() / "first").string();
    sb::PrivateNetns ns(first);
    {
        // Still bound where the previous daemon bound it: left there (and unbound at the end,
        // as the one owner it is once that daemon is gone).
        sb::PrivateNetns again(first, sb::UniqueFd(::dup(ns.fd())));
        CHECK(again.id() == ns.id());
        CHECK(sb::netns_at(first) == ns.id());
        sb::UdevBroadcaster broadcaster(again);
        CHECK(sb::socket_netns(broadcaster.fd()) == ns.id());
    }
    const std::string second = (dir.path() / "second").string();
    {
        sb::PrivateNetns moved(second, sb::UniqueFd(::dup(ns.fd())));
        CHECK(sb::netns_at(second) == ns.id());
    }
    CHECK_FALSE(fs::exists(second));
    // Not a network namespace, the host's, or a path that holds another namespace: refused.
    const std::string third = (dir.path() / "third").string();
    CHECK_THROWS_AS(sb::PrivateNetns(third, sb::UniqueFd(::open("/proc/self/ns/mnt", O_RDONLY))),
                    std::runtime_error);
    CHECK_THROWS_AS(sb::PrivateNetns(third, sb::UniqueFd(::open("/proc/self/ns/net", O_RDONLY))),
                    std::runtime_error);
    sb::PrivateNetns other(third);
    CHECK_THROWS_AS(sb::PrivateNetns(third, sb::UniqueFd(::dup(ns.fd()))), std::runtime_error);
    CHECK(sb::netns_at(third) == other.id());
}

TEST_CASE("UdevBroadcaster's socket lives in the private namespace", "[netns]") {
    TempDir dir;
    sb::PrivateNetns ns((dir.path() / "ns").string());
    sb::UdevBroadcaster broadcaster(ns);
    CHECK(sb::socket_netns(broadcaster.fd()) == ns.id());
    CHECK(sb::socket_netns(broadcaster.fd()) != ns.host_id());
    CHECK(broadcaster.send({{"ACTION", "add"}}) != "");
}

TEST_CASE("udevadm monitor in the namespace prints the events, the host sees none", "[netns]") {
    if (!have_tools()) return;
    TempDir dir;
    sb::PrivateNetns ns((dir.path() / "ns").string());
    sb::UdevBroadcaster broadcaster(ns);
    Watched inside({"nsenter", "--net=" + ns.path(), "udevadm", "monitor", "--udev", "--property",
                    "--subsystem-match=memory"});
    // Only listens: a monitor cannot disturb the host's udev.
    Watched host({"udevadm", "monitor", "--udev", "--property"});
    REQUIRE(inside.wait_for(kReady));
    REQUIRE(host.wait_for(kReady));

    // The other subsystem goes first: once the memory event is printed, the filter has
    // already had its chance to drop it.
    CHECK(broadcaster.send(event("other", "/devices/virtual/other/x", "4241")) == "");
    CHECK(broadcaster.send(event("memory", "/devices/system/memory/memory6", "4242")) == "");
    CHECK(inside.wait_for("SEQNUM=4242"));
    CHECK(inside.wait_for("HOTPLUGFS_RULE=yes"));
    const std::string seen = inside.stop();
    CHECK(seen.find("UDEV  [") != std::string::npos);
    CHECK(seen.find("] add      /devices/system/memory/memory6 (memory)\n") != std::string::npos);
    CHECK(seen.find("SUBSYSTEM=memory\n") != std::string::npos);
    CHECK(seen.find("(other)") == std::string::npos);
    CHECK(seen.find("SEQNUM=4241") == std::string::npos);

    // A multicast is queued to every listener before sendmsg() returns; give the host's
    // monitor time to print whatever it might have received.
    std::this_thread::sleep_for(300ms);
    const std::string host_seen = host.stop();
    CHECK(host_seen.find("SEQNUM=424") == std::string::npos);
    CHECK(host_seen.find("memory6") == std::string::npos);
    CHECK(host_seen.find("/devices/virtual/other/x") == std::string::npos);
}
