// The state file's own rules: each refused at its JSON Pointer with one exact line.
#include <catch2/catch.hpp>

#include <string>
#include <variant>

#include "persist/state_file.h"
#include "persist/state_rules.h"

using namespace hotplugfs;
using hotplug::BlockState;
using hotplug::Zone;

namespace {

constexpr uint64_t kBlock = 128ull << 20;

// The built-in machine's runs: 0 block 0 ("none"), 1 blocks 1..23 (DMA32), 2 blocks 32..39
// (Normal, node 0), 3 blocks 40..71 (Normal, node 1), 4 and 5 hot-added and offline.
hotplug::MachineSnapshot builtin_state() {
    auto m = std::move(hotplug::Machine::build(hotplug::default_machine_spec()).value());
    hotplug::MachineSnapshot s = m.snapshot();
    REQUIRE(s.blocks.size() == 6);
    REQUIRE(s.blocks[2].first == 32);
    REQUIRE(s.blocks[4].hotplugged);
    return s;
}

// What loading `state` from a file named s.json reports: "" when it is accepted.
std::string refusal(const hotplug::MachineSnapshot& state) {
    auto r = persist::decode(persist::encode(state), "s.json");
    if (auto* e = std::get_if<persist::StateError>(&r)) return e->message();
    CHECK(std::get<hotplug::MachineSnapshot>(r) == state);
    return "";
}

}  // namespace

TEST_CASE("a state the daemon wrote obeys every rule", "[state-rules]") {
    CHECK(refusal(builtin_state()) == "");
}

TEST_CASE("a block's zone must exist on the architecture at its address", "[state-rules]") {
    hotplug::MachineSnapshot s = builtin_state();
    s.blocks[2].zone = Zone::DMA;
    CHECK(refusal(s) ==
          "s.json: /blocks/2/zone: blocks 32..39 [0x100000000, 0x140000000) reach "
          "above the DMA limit 0x1000000 of x86_64");
    s.blocks[2].zone = Zone::DMA32;
    CHECK(refusal(s) ==
          "s.json: /blocks/2/zone: blocks 32..39 [0x100000000, 0x140000000) reach "
          "above the DMA32 limit 0x100000000 of x86_64");
    s.blocks[2].zone = Zone::Movable;
    CHECK(refusal(s) == "");

    s = builtin_state();
    s.blocks[1] = hotplug::BlockRun{1, 1, 0, BlockState::Online, Zone::DMA};
    CHECK(refusal(s) ==
          "s.json: /blocks/1/zone: block 1 [0x8000000, 0x10000000) reaches above "
          "the DMA limit 0x1000000 of x86_64");
    s.blocks[1].zone = Zone::Normal;  // below 4 GiB, as a configuration may place it
    CHECK(refusal(s) == "");

    s = builtin_state();
    s.arch = hotplug::Arch::Arm64;
    CHECK(refusal(s) == "");  // DMA32 below 4 GiB
    s.blocks[1].zone = Zone::DMA;
    CHECK(refusal(s) == "s.json: /blocks/1/zone: arm64 has no DMA zone");
    s.arch = hotplug::Arch::Ppc64;
    s.blocks[1].zone = Zone::DMA32;
    CHECK(refusal(s) == "s.json: /blocks/1/zone: ppc64 has no DMA32 zone");
}

TEST_CASE("only boot memory is managed by several zones", "[state-rules]") {
    hotplug::MachineSnapshot s = builtin_state();
    REQUIRE(s.blocks[0].multi_zone);
    s.blocks[4].state = BlockState::Online;
    s.blocks[4].multi_zone = true;
    CHECK(refusal(s) ==
          "s.json: /blocks/4/zone: \"none\" (managed by several zones) is only for "
          "boot memory; hot-added blocks are onlined into one zone");
    s.blocks[4].multi_zone = false;
    s.blocks[4].zone = Zone::Movable;
    CHECK(refusal(s) == "");
}

TEST_CASE("a state file never keeps going-offline", "[state-rules]") {
    hotplug::MachineSnapshot s = builtin_state();
    s.blocks[3].state = BlockState::GoingOffline;
    CHECK(refusal(s) ==
          "s.json: /blocks/3/state: going-offline is a transient state, which a "
          "state file never keeps (an offline still migrating has not completed: "
          "its blocks are \"online\")");
}

TEST_CASE("counters stay below 2^63", "[state-rules]") {
    hotplug::MachineSnapshot s = builtin_state();
    s.seqnum = persist::kMaxCounter;
    s.faults.soft_offlined = persist::kMaxCounter;
    CHECK(refusal(s) == "");
    s.seqnum = UINT64_MAX;
    CHECK(refusal(s) ==
          "s.json: /seqnum: 18446744073709551615 is out of range (at most 2^63-1 = "
          "9223372036854775807, so that the counter never wraps around)");
    s.seqnum = persist::kMaxCounter + 1;
    CHECK(refusal(s) ==
          "s.json: /seqnum: 9223372036854775808 is out of range (at most 2^63-1 = "
          "9223372036854775807, so that the counter never wraps around)");
    s.seqnum = 7;
    s.faults.soft_offlined = persist::kMaxCounter + 1;
    CHECK(refusal(s) ==
          "s.json: /faults/soft_offlined: 9223372036854775808 is out of range (at "
          "most 2^63-1 = 9223372036854775807, so that the counter never wraps "
          "around)");
}

TEST_CASE("the block size obeys the configuration's rule", "[state-rules]") {
    hotplug::MachineSnapshot s = builtin_state();
    s.block_size = 3 * kBlock;
    CHECK(refusal(s) == "s.json: /block_size: 0x18000000 is not a power of two");
    s.block_size = 0;
    CHECK(refusal(s) == "s.json: /block_size: 0x0 is not a power of two");
    s.block_size = kBlock;
    s.arch = hotplug::Arch::S390x;
    CHECK(refusal(s) ==
          "s.json: /block_size: 0x8000000 is not a multiple of the s390x section size 0x10000000");
}

TEST_CASE("the first rule broken in file order is the one reported", "[state-rules]") {
    hotplug::MachineSnapshot s = builtin_state();
    s.blocks[2].zone = Zone::DMA;
    s.faults.soft_offlined = UINT64_MAX;
    CHECK(refusal(s).starts_with("s.json: /faults/soft_offlined: "));
    s.seqnum = UINT64_MAX;
    CHECK(refusal(s).starts_with("s.json: /seqnum: "));
}

TEST_CASE("at_rest: a slow offline in progress is kept as online", "[state-rules]") {
    auto m = std::move(hotplug::Machine::build(hotplug::default_machine_spec()).value());
    REQUIRE(m.set_block_fault(35, hotplug::BlockFault{-1, 0}, false).ok());
    REQUIRE(m.set_state(35, hotplug::OnlineType::Offline).pending_offline_ms.has_value());
    const hotplug::MachineSnapshot live = m.snapshot();
    CHECK(refusal(live).starts_with("s.json: /blocks/3/state: going-offline "));

    const hotplug::MachineSnapshot kept = persist::at_rest(live);
    CHECK(refusal(kept) == "");
    REQUIRE(kept.blocks.size() == live.blocks.size());
    for (size_t i = 0; i < kept.blocks.size(); ++i) {
        hotplug::BlockRun expected = live.blocks[i];
        if (expected.state == BlockState::GoingOffline) expected.state = BlockState::Online;
        CHECK(kept.blocks[i] == expected);
    }
    auto restored = hotplug::Machine::restore(hotplug::default_machine_spec(), kept);
    REQUIRE(restored.ok());
    CHECK(restored.value().blocks().at(35).block_state() == BlockState::Online);
    CHECK(restored.value().valid_zones(35) == "Normal");
}
