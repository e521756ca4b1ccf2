// Machine layouts: the built-in default machine and the machine of the reference capture.
#include "core_support.h"

using namespace coretest;

TEST_CASE("default machine: block layout, nodes and states", "[layout]") {
    Machine m = default_machine();
    REQUIRE(m.arch() == Arch::X86_64);
    REQUIRE(m.block_size() == kBlock);
    REQUIRE(m.nodes().size() == 2);

    std::vector<uint64_t> expected;
    for (uint64_t id = 0; id <= 23; ++id) expected.push_back(id);
    for (uint64_t id = 32; id <= 135; ++id) expected.push_back(id);
    CHECK(present_ids(m) == expected);
    CHECK(m.blocks().count() == expected.size());

    for (uint64_t id = 0; id <= 23; ++id) {
        INFO("block " << id);
        CHECK(is_online(m, id));
        CHECK(m.blocks().at(id).node == 0);
        CHECK(m.valid_zones(id) == (id == 0 ? "none" : "DMA32"));
    }
    for (uint64_t id = 24; id <= 31; ++id) CHECK_FALSE(m.blocks().present(id));
    for (uint64_t id = 32; id <= 39; ++id) {
        INFO("block " << id);
        CHECK(is_online(m, id));
        CHECK(m.blocks().at(id).node == 0);
        CHECK(m.valid_zones(id) == "Normal");
    }
    for (uint64_t id = 40; id <= 71; ++id) {
        INFO("block " << id);
        CHECK(is_online(m, id));
        CHECK(m.blocks().at(id).node == 1);
        CHECK(m.valid_zones(id) == "Normal");
    }
    for (uint64_t id = 72; id <= 135; ++id) {
        INFO("block " << id);
        CHECK_FALSE(is_online(m, id));
        CHECK(m.blocks().at(id).block_state() == BlockState::Offline);
        CHECK(m.blocks().at(id).node == (id <= 103 ? 0 : 1));
        CHECK(m.valid_zones(id) == "Normal Movable");
    }
    for (uint64_t id = 136; id < 400; ++id) CHECK_FALSE(m.blocks().present(id));
    CHECK_FALSE(m.blocks().next_present(136).has_value());
    CHECK(m.blocks().next_present(24) == 32u);
    CHECK(m.last_seqnum() == 0);
}

TEST_CASE("default machine: zone spans and present pages", "[layout]") {
    Machine m = default_machine();
    const uint64_t pfn_16m = (16 * MiB) >> kPageShift;
    // Block 0 is split between DMA (below 16 MiB) and DMA32.
    CHECK(span(m, 0, Zone::DMA).start_pfn == 0);
    CHECK(span(m, 0, Zone::DMA).end_pfn == pfn_16m);
    CHECK(span(m, 0, Zone::DMA).present_pages == pfn_16m);
    CHECK(span(m, 0, Zone::DMA32).start_pfn == pfn_16m);
    CHECK(span(m, 0, Zone::DMA32).end_pfn == pfns(0, 23).second);
    CHECK(span(m, 0, Zone::DMA32).present_pages == 24 * kPagesPerBlock - pfn_16m);
    CHECK(span(m, 0, Zone::Normal).start_pfn == pfns(32, 39).first);
    CHECK(span(m, 0, Zone::Normal).end_pfn == pfns(32, 39).second);
    CHECK(span(m, 0, Zone::Normal).present_pages == 8 * kPagesPerBlock);
    CHECK(span(m, 0, Zone::Movable).empty());
    CHECK(span(m, 1, Zone::DMA).empty());
    CHECK(span(m, 1, Zone::DMA32).empty());
    CHECK(span(m, 1, Zone::Normal).start_pfn == pfns(40, 71).first);
    CHECK(span(m, 1, Zone::Normal).end_pfn == pfns(40, 71).second);
    CHECK(span(m, 1, Zone::Movable).empty());

    CHECK(m.node_present_pages(0) == 32 * kPagesPerBlock);
    CHECK(m.node_present_pages(1) == 32 * kPagesPerBlock);
    CHECK(m.node_kernel_present_pages(0) == 32 * kPagesPerBlock);
    CHECK(m.node(0)->early_kernel_pages == 32 * kPagesPerBlock);
    CHECK(m.node(1)->early_kernel_pages == 32 * kPagesPerBlock);
    CHECK(m.node_has_memory(0));
    CHECK(m.node_has_normal_memory(1));
    CHECK(m.node(2) == nullptr);
    CHECK(m.node(-1) == nullptr);
}

TEST_CASE("default machine: parameters and pluggable nodes", "[layout]") {
    Machine m = default_machine();
    CHECK(m.params().auto_online_blocks == OnlineType::Offline);
    CHECK(m.params().online_policy == OnlinePolicy::ContigZones);
    CHECK(m.params().auto_movable_ratio == 301);
    CHECK(m.params().auto_movable_numa_aware);
    CHECK_FALSE(m.params().movable_node);
    CHECK(m.params().probe);
    CHECK(m.node_for_address(17 * GiB) == 0);
    CHECK(m.node_for_address(33 * GiB - kBlock) == 0);
    CHECK(m.node_for_address(33 * GiB) == 1);
    CHECK(m.node_for_address(13 * GiB) == 1);
    CHECK(m.node_for_address(100 * GiB) == 0);  // outside every range: node 0
}

TEST_CASE("reference machine: valid_zones as the capture shows", "[layout]") {
    Machine m = make(reference_spec());
    CHECK(m.blocks().count() == 24 + 168);
    CHECK(m.valid_zones(0) == "none");
    CHECK(m.valid_zones(1) == "DMA32");
    CHECK(m.valid_zones(23) == "DMA32");
    CHECK(m.valid_zones(32) == "Normal");
    CHECK(m.valid_zones(199) == "Normal");
    CHECK_FALSE(m.blocks().present(24));
    CHECK_FALSE(m.blocks().present(31));
    CHECK_FALSE(m.blocks().present(200));
    for (uint64_t id : present_ids(m)) CHECK(is_online(m, id));
    // 24 GiB online, as lsmem reports.
    CHECK(m.node_present_pages(0) * kPageSize == 24 * GiB);
    CHECK(Machine::block_devpath(6) == "/devices/system/memory/memory6");
}

TEST_CASE("build rejects inconsistent specs", "[layout]") {
    auto fails = [](const MachineSpec& spec) {
        auto r = Machine::build(spec);
        return !r.ok() && r.error().code == EINVAL && !r.error().message.empty();
    };
    MachineSpec good = reference_spec();
    REQUIRE(Machine::build(good).ok());

    MachineSpec s = good;
    s.block_size = 96 * MiB;  // not a power of two
    CHECK(fails(s));
    s = good;
    s.block_size = 64 * MiB;  // below the x86_64 section size
    CHECK(fails(s));
    s = good;
    s.nodes.clear();
    CHECK(fails(s));
    s = good;
    s.nodes = {NodeSpec{1, {}, {}, 0}};  // ids must start at 0
    CHECK(fails(s));
    s = good;
    s.memory.push_back(boot(2 * GiB, 2 * kBlock));  // overlaps the first range
    CHECK(fails(s));
    s = good;
    s.memory.push_back(boot(30 * GiB + 4096, kBlock));  // unaligned
    CHECK(fails(s));
    s = good;
    s.memory.push_back(boot(30 * GiB, kBlock, 3));  // no node 3
    CHECK(fails(s));
    s = good;
    s.pluggable = {PluggableRangeSpec{30 * GiB, 2 * GiB, 0},
                   PluggableRangeSpec{31 * GiB, 2 * GiB, 0}};  // overlapping
    CHECK(fails(s));
    s = good;
    s.unmovable = {24};  // not present
    CHECK(fails(s));
    s = good;
    s.holes = {500};
    CHECK(fails(s));
}

TEST_CASE("build refuses CPUs a machine cannot have, and maps the others", "[layout]") {
    MachineSpec spec = hotplug::default_machine_spec();
    spec.nodes[1].cpus = {1, 2};  // cpu 1 is node 0's too
    auto r = Machine::build(spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EINVAL);
    CHECK(r.error().message == "cpu 1 belongs to node 0 and node 1");
    spec.nodes[1].cpus = {hotplug::kNrCpus};
    r = Machine::build(spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "node 1 lists cpu 8192; cpu ids are 0..8191");
    spec.nodes[1].cpus = {-1};
    CHECK_FALSE(Machine::build(spec).ok());

    spec.nodes[1].cpus = {6, 4};
    r = Machine::build(spec);
    REQUIRE(r.ok());
    const Machine& m = r.value();
    CHECK(m.nr_cpu_ids() == 7);
    CHECK(m.cpu_node(0) == 0);
    CHECK(m.cpu_node(1) == 0);
    CHECK(m.cpu_node(2) == -1);
    CHECK(m.cpu_node(4) == 1);
    CHECK(m.cpu_node(6) == 1);
    CHECK(m.cpu_node(7) == -1);
    CHECK(m.cpu_node(-1) == -1);
}
