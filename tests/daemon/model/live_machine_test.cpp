// LiveMachine, the one owner of the model: writes through the tree, the hooks every change
// reaches, what a restore refreshes, and when a write tells its caller it may block.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "hotplug/machine.h"
#include "hotplug/spec.h"
#include "model/live_machine.h"

using namespace hotplugfs;

namespace {

hotplug::Machine default_machine() {
    return std::move(*hotplug::Machine::build(hotplug::default_machine_spec()));
}

const hotplug::MachineSpec& default_spec() {
    static const hotplug::MachineSpec spec = hotplug::default_machine_spec();
    return spec;
}

LiveMachine::Waiter plain_waiter(std::atomic<int>* may_block = nullptr) {
    LiveMachine::Waiter w{[](int64_t) { return false; }};
    if (may_block) w.may_block = [may_block] { ++*may_block; };
    return w;
}

uint64_t ino(const LiveMachine& s, const char* path) {
    auto i = s.resolve(path);
    REQUIRE(i);
    return *i;
}

}  // namespace

TEST_CASE("LiveMachine: a write changes the model and reaches every hook once") {
    LiveMachine s(default_spec(), default_machine(), 0, fsmodel::ChangingFiles::LikeSysfs);
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
    s.set_persist_hook([&](const hotplug::MachineSnapshot&) { return ++persisted, 0; });
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

TEST_CASE("LiveMachine: restore refreshes what differs, devices included") {
    LiveMachine s(default_spec(), default_machine(), 0);
    const auto saved = s.snapshot();
    hotplug::NewDevice d;
    d.name = "dimm0";
    d.size = 1ull << 30;
    auto r = s.apply([&](hotplug::Machine& m) { return m.create_device(d); }, plain_waiter());
    REQUIRE(r.result == 0);
    r = s.restore(saved);
    REQUIRE(r.result == 0);
    bool removed_dimm = false;
    for (const auto& e : r.invalidations.removed_entries) removed_dimm |= e.name == "dimm0";
    CHECK(removed_dimm);
    CHECK_FALSE(s.resolve("kernel/debug/hotplugfs/devices/dimm0"));
}

TEST_CASE("LiveMachine: a write waiting for another operation says it may block first") {
    LiveMachine s(default_spec(), default_machine(), 0);
    const uint64_t state = ino(s, "devices/system/memory/memory72/state");
    std::atomic<int> may_block{0};
    // Uncontended: nothing to wait for (no persist hook either).
    CHECK(s.write_file(state, "online", plain_waiter(&may_block)).result == 6);
    CHECK(may_block == 0);
    // Another operation holds the lock: the write tells its caller before it waits.
    std::unique_lock held(s.operation_lock());
    std::thread writer(
        [&] { CHECK(s.write_file(state, "offline", plain_waiter(&may_block)).result == 7); });
    for (int i = 0; i < 500 && may_block == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(may_block == 1);
    held.unlock();
    writer.join();
    // With a persist hook the disk is a wait too.
    s.set_persist_hook([](const hotplug::MachineSnapshot&) { return 0; });
    may_block = 0;
    CHECK(s.write_file(state, "online", plain_waiter(&may_block)).result == 6);
    CHECK(may_block == 1);
}

namespace {

// The default machine with a migration that never finishes on block 50 and one of 50 ms on 35.
hotplug::MachineSpec slow_spec() {
    hotplug::MachineSpec spec = hotplug::default_machine_spec();
    spec.block_faults = {hotplug::BlockFaultSpec{50, -1, false},
                         hotplug::BlockFaultSpec{35, 50, false}};
    return spec;
}

std::string read_file(const LiveMachine& s, const char* path) {
    const uint64_t i = ino(s, path);
    std::string out;
    s.read([&](const auto& m, const auto& t) { return t.read(m, i, out); });
    return out;
}

}  // namespace

TEST_CASE("LiveMachine: an unattended write waits a slow offline out, up to its bound") {
    LiveMachine s(slow_spec(), std::move(*hotplug::Machine::build(slow_spec())), 0);
    // 50 ms is within a 5 s bound: the offline completes.
    const uint64_t b35 = ino(s, "devices/system/memory/memory35/state");
    CHECK(s.write_file(b35, "offline", s.unattended(5000)).result == 7);
    CHECK(read_file(s, "devices/system/memory/memory35/state") == "offline\n");
    // Never finishing, past a 100 ms bound: interrupted as by a signal, the block online again.
    const uint64_t b50 = ino(s, "devices/system/memory/memory50/state");
    const auto start = std::chrono::steady_clock::now();
    CHECK(s.write_file(b50, "offline", s.unattended(100)).result == -EINTR);
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(100));
    CHECK(read_file(s, "devices/system/memory/memory50/state") == "online\n");
}

TEST_CASE("LiveMachine: a migration too long for a clock deadline is waited without limit") {
    hotplug::MachineSpec spec = hotplug::default_machine_spec();
    spec.block_faults = {hotplug::BlockFaultSpec{50, INT64_MAX, false}};
    LiveMachine s(spec, std::move(*hotplug::Machine::build(spec)), 0);
    std::vector<int64_t> asked;
    LiveMachine::Waiter waiter{[&](int64_t ms) {
        asked.push_back(ms);
        return true;  // interrupted at once, as by a signal
    }};
    const uint64_t b50 = ino(s, "devices/system/memory/memory50/state");
    CHECK(s.write_file(b50, "offline", waiter).result == -EINTR);
    CHECK(asked == std::vector<int64_t>{-1});
    CHECK(read_file(s, "devices/system/memory/memory50/state") == "online\n");
}

TEST_CASE("LiveMachine: stop_waiting ends an unbounded unattended wait") {
    LiveMachine s(slow_spec(), std::move(*hotplug::Machine::build(slow_spec())), 0);
    const uint64_t b50 = ino(s, "devices/system/memory/memory50/state");
    std::atomic<long> result{0};
    std::thread writer([&] { result = s.write_file(b50, "offline", s.unattended()).result; });
    for (int i = 0;
         i < 500 && read_file(s, "devices/system/memory/memory50/state") != "going-offline\n"; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(read_file(s, "devices/system/memory/memory50/state") == "going-offline\n");
    s.stop_waiting();
    writer.join();
    CHECK(result == -EINTR);
    CHECK(read_file(s, "devices/system/memory/memory50/state") == "online\n");
    // Once stopped, a wait ends at once.
    CHECK(s.write_file(b50, "offline", s.unattended()).result == -EINTR);
}

TEST_CASE("LiveMachine: restore never takes SEQNUMs back and refuses what does not fit") {
    LiveMachine s(default_spec(), default_machine(), 0);
    const auto saved = s.snapshot();  // SEQNUM 0
    const uint64_t state = ino(s, "devices/system/memory/memory72/state");
    REQUIRE(s.write_file(state, "online", plain_waiter()).result == 6);
    const uint64_t seqnum =
        s.read([](const hotplug::Machine& m, const fsmodel::Tree&) { return m.last_seqnum(); });
    REQUIRE(seqnum > 0);
    REQUIRE(s.restore(saved).result == 0);
    CHECK(read_file(s, "devices/system/memory/memory72/state") == "offline\n");
    CHECK(s.snapshot().seqnum == seqnum);
    // A snapshot of another block size: EINVAL naming the field, the machine unchanged.
    REQUIRE(s.write_file(state, "online", plain_waiter()).result == 6);
    auto other = saved;
    other.block_size *= 2;
    const auto r = s.restore(other);
    CHECK(r.result == -EINVAL);
    CHECK_FALSE(r.outcome.error.field.empty());
    CHECK(read_file(s, "devices/system/memory/memory72/state") == "online\n");
}

TEST_CASE("LiveMachine: a change that cannot be persisted does not happen") {
    LiveMachine s(slow_spec(), std::move(*hotplug::Machine::build(slow_spec())), 0,
                  fsmodel::ChangingFiles::LikeSysfs);
    struct Recorder : ChangeListener {
        int events = 0, changed = 0;
        void on_events(const std::vector<hotplug::Uevent>& e, EventTime) override {
            events += static_cast<int>(e.size());
        }
        void on_changed() override { ++changed; }
    } rec;
    s.subscribe(rec);
    int fail_with = ENOSPC;
    std::vector<uint64_t> persisted_seqnums;
    s.set_persist_hook([&](const hotplug::MachineSnapshot& snap) {
        if (fail_with) return fail_with;
        persisted_seqnums.push_back(snap.seqnum);
        return 0;
    });
    const uint64_t state = ino(s, "devices/system/memory/memory72/state");
    const uint64_t seqnum = s.snapshot().seqnum;
    // A write: the writer gets the hook's errno; the model, the tree and the listeners as if
    // nothing happened.
    CHECK(s.write_file(state, "online", plain_waiter()).result == -ENOSPC);
    CHECK(read_file(s, "devices/system/memory/memory72/state") == "offline\n");
    CHECK(s.snapshot().seqnum == seqnum);
    CHECK(rec.events == 0);
    CHECK(rec.changed == 0);
    // A model operation fails the same way.
    hotplug::NewDevice d;
    d.name = "dimm0";
    d.size = 1ull << 30;
    CHECK(s.apply([&](hotplug::Machine& m) { return m.create_device(d); }, plain_waiter()).result ==
          -ENOSPC);
    CHECK_FALSE(s.resolve("kernel/debug/hotplugfs/devices/dimm0"));
    // A slow offline whose end cannot be persisted: the block goes back online.
    CHECK(
        s.write_file(ino(s, "devices/system/memory/memory35/state"), "offline", s.unattended(5000))
            .result == -ENOSPC);
    CHECK(read_file(s, "devices/system/memory/memory35/state") == "online\n");
    CHECK(rec.events == 0);
    // Once the disk allows, the same write succeeds and the file holds its SEQNUM first.
    fail_with = 0;
    CHECK(s.write_file(state, "online", plain_waiter()).result == 6);
    CHECK(rec.events == 1);
    REQUIRE(persisted_seqnums.size() == 1);
    CHECK(persisted_seqnums[0] == seqnum + 1);
    CHECK(s.snapshot().seqnum == seqnum + 1);
}
