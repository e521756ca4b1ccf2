// MachineState, the one owner of the model: writes through the tree, the hooks every change
// reaches, what a restore refreshes, and when a write tells its caller it may block.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "model/machine_state.h"
#include "hotplug/machine.h"
#include "hotplug/spec.h"

using namespace hotplugfs;

namespace {

hotplug::Machine default_machine() {
    return std::move(*hotplug::Machine::build(hotplug::default_machine_spec()));
}

MachineState::Waiter plain_waiter(std::atomic<int>* may_block = nullptr) {
    MachineState::Waiter w{[](const auto&) {}, [](int64_t) { return false; }};
    if (may_block) w.may_block = [may_block] { ++*may_block; };
    return w;
}

uint64_t ino(const MachineState& s, const char* path) {
    auto i = s.resolve(path);
    REQUIRE(i);
    return *i;
}

}  // namespace

TEST_CASE("MachineState: a write changes the model and reaches every hook once") {
    MachineState s(default_machine(), 0, fsmodel::ChangingFiles::LikeSysfs);
    struct Recorder : ChangeListener {
        std::vector<std::string> events;
        int changed = 0;
        void on_events(const std::vector<hotplug::Uevent>& e, EventTime when) override {
            CHECK(when.realtime_ns > 0);
            for (const auto& u : e) events.push_back(u.action + " " + u.devpath);
        }
        void on_changed() override { ++changed; }
    } recorder;
    auto& events = recorder.events;
    const int& changed = recorder.changed;
    int persisted = 0;
    s.subscribe(recorder);
    s.set_persist_hook([&](const hotplug::MachineSnapshot&) { ++persisted; });
    const uint64_t state = ino(s, "devices/system/memory/memory72/state");
    auto r = s.write_file(state, "online_movable", plain_waiter());
    CHECK(r.result == 14);
    CHECK(events == std::vector<std::string>{"online /devices/system/memory/memory72"});
    CHECK(persisted == 1);
    CHECK(changed == 1);
    // The exact mode's changing files have nothing cached: no invalidation.
    CHECK(r.invalidations.inodes.empty());
    CHECK(s.read([](const hotplug::Machine& m, const fsmodel::Tree&) {
        return m.blocks().at(72).online();
    }));
    // A refused store: no event, no persist.
    r = s.write_file(state, "online", plain_waiter());
    CHECK(r.result == -EINVAL);
    CHECK(events.size() == 1);
    CHECK(persisted == 1);
}

TEST_CASE("MachineState: replace refreshes what differs, devices included") {
    MachineState s(default_machine(), 0);
    const auto saved = s.snapshot();
    hotplug::NewDevice d;
    d.name = "dimm0";
    d.size = 1ull << 30;
    auto r = s.apply([&](hotplug::Machine& m) { return m.create_device(d); }, plain_waiter());
    REQUIRE(r.result == 0);
    auto restored = hotplug::Machine::restore(hotplug::default_machine_spec(), saved);
    REQUIRE(restored);
    r = s.replace(std::move(restored.value()));
    bool removed_dimm = false;
    for (const auto& e : r.invalidations.removed_entries) removed_dimm |= e.name == "dimm0";
    CHECK(removed_dimm);
    CHECK_FALSE(s.resolve("kernel/debug/hotplugfs/devices/dimm0"));
}

TEST_CASE("MachineState: a write waiting for another operation says it may block first") {
    MachineState s(default_machine(), 0);
    const uint64_t state = ino(s, "devices/system/memory/memory72/state");
    std::atomic<int> may_block{0};
    // Uncontended: nothing to wait for (no persist hook either).
    CHECK(s.write_file(state, "online", plain_waiter(&may_block)).result == 6);
    CHECK(may_block == 0);
    // Another operation holds the lock: the write tells its caller before it waits.
    std::unique_lock held(s.operation_lock());
    std::thread writer([&] {
        CHECK(s.write_file(state, "offline", plain_waiter(&may_block)).result == 7);
    });
    for (int i = 0; i < 500 && may_block == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(may_block == 1);
    held.unlock();
    writer.join();
    // With a persist hook the disk is a wait too.
    s.set_persist_hook([](const hotplug::MachineSnapshot&) {});
    may_block = 0;
    CHECK(s.write_file(state, "online", plain_waiter(&may_block)).result == 6);
    CHECK(may_block == 1);
}
