// bus::Backend, what D-Bus methods change the machine through: writes by path, model
// operations, Save and Load, each going to the one owner (LiveMachine).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "bus/bus_backend.h"
#include "hotplug/machine.h"
#include "hotplug/spec.h"

using namespace hotplugfs;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/hotplugfs-backend-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

struct Fixture {
    hotplug::MachineSpec spec = hotplug::default_machine_spec();
    LiveMachine live{spec, std::move(*hotplug::Machine::build(spec)), 0};
    bus::Backend backend{live, {}, {}};

    std::string read(const std::string& path) const {
        const auto ino = live.resolve(path);
        REQUIRE(ino);
        std::string out;
        live.read([&](const auto& m, const auto& t) { return t.read(m, *ino, out); });
        return out;
    }
};

constexpr const char* kState72 = "devices/system/memory/memory72/state";

}  // namespace

TEST_CASE("Backend: a write by path reaches the model, a missing path is ENOENT") {
    Fixture f;
    CHECK(f.backend.write_path(kState72, "online") == 6);
    CHECK(f.read(kState72) == "online\n");
    CHECK(f.backend.write_path("devices/system/memory/memory9999/state", "online") == -ENOENT);
    CHECK(f.backend.write_path(kState72, "bogus") == -EINVAL);
}

TEST_CASE("Backend: a model operation returns its errno") {
    Fixture f;
    CHECK(f.backend.apply([](hotplug::Machine& m) {
        return m.set_state(72, hotplug::OnlineType::Online);
    }) == 0);
    CHECK(f.read(kState72) == "online\n");
    CHECK(f.backend.apply([](hotplug::Machine& m) {
        return m.set_state(72, hotplug::OnlineType::Online);
    }) == -EINVAL);
}

TEST_CASE("Backend: Save then Load brings the machine back, SEQNUMs go on") {
    Fixture f;
    TempDir dir;
    const std::string file = (dir.path / "saved.json").string();
    CHECK(f.backend.save(file).empty());
    REQUIRE(f.backend.write_path(kState72, "online") == 6);
    const uint64_t seqnum = f.live.snapshot().seqnum;
    REQUIRE(seqnum > 0);
    std::string why;
    CHECK(f.backend.load(file, why) == 0);
    CHECK(why.empty());
    CHECK(f.read(kState72) == "offline\n");
    CHECK(f.live.snapshot().seqnum == seqnum);
}

TEST_CASE("Backend: Load of a missing or broken file fails and changes nothing") {
    Fixture f;
    TempDir dir;
    REQUIRE(f.backend.write_path(kState72, "online") == 6);
    std::string why;
    const std::string missing = (dir.path / "missing.json").string();
    CHECK(f.backend.load(missing, why) == -ENOENT);
    CHECK(why.find(missing) != std::string::npos);
    CHECK(why.find("No such file or directory") != std::string::npos);
    const std::string broken = (dir.path / "broken.json").string();
    std::ofstream(broken) << "{\"format\": 1, ";
    why.clear();
    CHECK(f.backend.load(broken, why) == -EINVAL);
    CHECK(why.find(broken) != std::string::npos);
    CHECK(f.read(kState72) == "online\n");
}

TEST_CASE("Backend: Save during a slow offline keeps the block online, and Load takes it") {
    Fixture f;
    TempDir dir;
    const std::string file = (dir.path / "saved.json").string();
    const std::string state35 = "devices/system/memory/memory35/state";
    REQUIRE(f.backend.apply([](hotplug::Machine& m) {
        return m.set_block_fault(35, hotplug::BlockFault{-1, 0}, false);
    }) == 0);
    std::string saved = "not saved";
    const LiveMachine::Waiter save_meanwhile{[&](int64_t) {
        CHECK(f.read(state35) == "going-offline\n");
        saved = f.backend.save(file);
        return false;  // the migration finishes
    }};
    const auto ino = f.live.resolve(state35);
    REQUIRE(ino);
    CHECK(f.live.write_file(*ino, "offline", save_meanwhile).result == 7);
    CHECK(saved.empty());
    CHECK(f.read(state35) == "offline\n");
    std::string why;
    CHECK(f.backend.load(file, why) == 0);
    CHECK(why.empty());
    CHECK(f.read(state35) == "online\n");
}
