// FuseServer without a mount: the exact mode's per-open snapshots, which make every read of one
// open file description see one moment of the file, as sysfs's seq_file does.
#include <catch2/catch.hpp>

#include "fuse/fuse_server.h"
#include "hotplug/machine.h"
#include "hotplug/spec.h"

using namespace hotplugfs;

namespace {

struct Fixture {
    hotplug::MachineSpec spec = hotplug::default_machine_spec();
    LiveMachine live{spec, std::move(*hotplug::Machine::build(spec)), 0,
                     fsmodel::ChangingFiles::LikeSysfs};
    FuseServer server{live, FuseOptions{}};
    uint64_t ino(const char* path) {
        const auto i = live.resolve(path);
        REQUIRE(i);
        return *i;
    }
    long write(const char* path, std::string_view data) {
        return live.write_file(ino(path), data, LiveMachine::Waiter{[](int64_t) { return false; }})
            .result;
    }
};

constexpr const char* kState72 = "devices/system/memory/memory72/state";

}  // namespace

TEST_CASE("FuseServer: a snapshot is taken at offset 0 and kept for the rest of the file") {
    Fixture f;
    const uint64_t fh = f.server.open_snapshot();
    std::string out;
    REQUIRE(f.server.read_snapshot(fh, f.ino(kState72), 3, 0, out) == 0);
    CHECK(out == "off");
    REQUIRE(f.write(kState72, "online") == 6);
    // The rest of the same open file: the moment of the first read.
    REQUIRE(f.server.read_snapshot(fh, f.ino(kState72), 100, 3, out) == 0);
    CHECK(out == "line\n");
    REQUIRE(f.server.read_snapshot(fh, f.ino(kState72), 100, 8, out) == 0);
    CHECK(out.empty());
    // A read from 0 again (pread, or lseek back) takes a new snapshot.
    REQUIRE(f.server.read_snapshot(fh, f.ino(kState72), 100, 0, out) == 0);
    CHECK(out == "online\n");
    f.server.close_snapshot(fh);
    CHECK(f.server.read_snapshot(fh, f.ino(kState72), 100, 0, out) == EBADF);
}

TEST_CASE("FuseServer: snapshots of two open files are independent") {
    Fixture f;
    const uint64_t a = f.server.open_snapshot(), b = f.server.open_snapshot();
    CHECK(a != b);
    std::string out;
    REQUIRE(f.server.read_snapshot(a, f.ino(kState72), 1, 0, out) == 0);
    REQUIRE(f.write(kState72, "online") == 6);
    REQUIRE(f.server.read_snapshot(b, f.ino(kState72), 100, 0, out) == 0);
    CHECK(out == "online\n");
    REQUIRE(f.server.read_snapshot(a, f.ino(kState72), 100, 1, out) == 0);
    CHECK(out == "ffline\n");
    f.server.close_snapshot(a);
    f.server.close_snapshot(b);
}

TEST_CASE("FuseServer: a snapshot of a file that cannot be read returns its errno") {
    Fixture f;
    const uint64_t fh = f.server.open_snapshot();
    std::string out;
    // `probe` has no show(): the tree refuses its read, and the snapshot passes that errno on.
    const uint64_t probe = f.ino("devices/system/memory/probe");
    std::string direct;
    const int tree_err =
        f.live.read([&](const auto& m, const auto& t) { return t.read(m, probe, direct); });
    CHECK(tree_err != 0);
    CHECK(f.server.read_snapshot(fh, probe, 100, 0, out) == tree_err);
    f.server.close_snapshot(fh);
}
