// EventPipeline over a real LiveMachine (no mount): rules see the tree, their ATTR writes go
// through the model and cause further events, which are processed after, in SEQNUM order.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "model/live_machine.h"
#include "events/event_pipeline.h"
#include "hotplug/machine.h"
#include "hotplug/spec.h"

using namespace hotplugfs;

namespace {

class Harness {
  public:
    explicit Harness(const std::string& rules_text,
                     hotplug::MachineSpec spec = hotplug::default_machine_spec())
        : live_(spec, std::move(*hotplug::Machine::build(spec)), 0) {
        udev::RuleSet rules;
        rules.add_file("test.rules", rules_text);
        REQUIRE(rules.errors().empty());
        pipeline_ = std::make_unique<EventPipeline>(
            live_, std::move(rules), EventPipeline::Settings{"", std::chrono::seconds(10), {}});
        pipeline_->add_sink(collector_);
        live_.subscribe(*pipeline_);
        pipeline_->start();
    }
    ~Harness() { pipeline_->stop(); }

    LiveMachine& live() { return live_; }
    long write(const std::string& path, std::string_view data) {
        const auto ino = live_.resolve(path);
        REQUIRE(ino);
        return live_
            .write_file(*ino, data, LiveMachine::Waiter{[](int64_t) { return false; }})
            .result;
    }
    std::string read(const std::string& path) {
        const auto ino = live_.resolve(path);
        REQUIRE(ino);
        std::string out;
        live_.read([&](const auto& m, const auto& t) { return t.read(m, *ino, out); });
        return out;
    }
    std::vector<ProcessedEvent> wait_for(size_t n) { return collector_.wait_for(n); }

  private:
    // What the pipeline delivered, in order.
    struct Collector final : EventSink {
        void on_processed(const ProcessedEvent& p) override {
            std::lock_guard lock(mu);
            done.push_back(p);
            cv.notify_all();
        }
        std::vector<ProcessedEvent> wait_for(size_t n) {
            std::unique_lock lock(mu);
            cv.wait_for(lock, std::chrono::seconds(10), [&] { return done.size() >= n; });
            return done;
        }
        std::mutex mu;
        std::condition_variable cv;
        std::vector<ProcessedEvent> done;
    };

    Collector collector_;  // outlives the pipeline, which delivers to it
    LiveMachine live_;
    std::unique_ptr<EventPipeline> pipeline_;
};

constexpr const char* kMem = "devices/system/memory/";

}  // namespace

TEST_CASE("an onlining rule onlines a probed block, events in SEQNUM order", "[pipeline]") {
    Harness h(
        "SUBSYSTEM==\"memory\", ACTION==\"add\", ATTR{state}==\"offline\", "
        "ATTR{state}=\"online_movable\"\n");
    REQUIRE(h.write(std::string(kMem) + "probe", "0x440000000") > 0);
    const auto events = h.wait_for(2);
    REQUIRE(events.size() == 2);
    CHECK(events[0].uevent.action == "add");
    CHECK(events[1].uevent.action == "online");
    CHECK(events[0].uevent.seqnum < events[1].uevent.seqnum);
    REQUIRE(events[0].attr_writes.size() == 1);
    CHECK(events[0].attr_writes[0].error == 0);
    CHECK(events[0].matched.size() == 1);
    CHECK(events[1].matched.empty());
    CHECK(h.read(std::string(kMem) + "memory136/state") == "online\n");
    CHECK(h.read(std::string(kMem) + "memory136/valid_zones") == "Movable\n");
}

TEST_CASE("broadcast properties keep the kernel's keys and drop private ones", "[pipeline]") {
    Harness h("ACTION==\"change\", ENV{.private}=\"x\", ENV{PUBLIC}=\"y\"\n");
    REQUIRE(h.write(std::string(kMem) + "memory40/uevent", "change") > 0);
    const auto events = h.wait_for(1);
    REQUIRE(events.size() == 1);
    std::vector<std::string> keys;
    for (const auto& kv : events[0].properties) keys.push_back(kv.first);
    CHECK(keys == std::vector<std::string>{"ACTION", "DEVPATH", "SUBSYSTEM", "SYNTH_UUID", "SEQNUM",
                                           "USEC_INITIALIZED", "PUBLIC"});
}

TEST_CASE("ATTRS and CONST see the memory root device and the platform", "[pipeline]") {
    Harness h(
        "ACTION==\"change\", ATTRS{auto_online_blocks}==\"offline\", CONST{arch}==\"x86-64\", "
        "CONST{virt}==\"none\", ENV{SEEN}=\"1\"\n");
    REQUIRE(h.write(std::string(kMem) + "memory40/uevent", "change") > 0);
    const auto events = h.wait_for(1);
    REQUIRE(events.size() == 1);
    CHECK(events[0].matched.size() == 1);
}

TEST_CASE("split_udev_command splits like udev and finds relative programs", "[pipeline]") {
    CHECK(split_udev_command("/bin/sh -c 'echo a  b'") ==
          std::vector<std::string>{"/bin/sh", "-c", "echo a  b"});
    CHECK(split_udev_command("helper \"x y\" z") ==
          std::vector<std::string>{"/usr/lib/udev/helper", "x y", "z"});
    CHECK(split_udev_command("   ").empty());
}
