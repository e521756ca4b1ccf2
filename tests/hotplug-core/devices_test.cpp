// Memory devices (§6): DIMMs plugged and unplugged whole, virtio-mem resized in units, their
// validation at build time, and memmap_on_memory accounting.
#include "no_effect.h"

using namespace coretest;

namespace {

std::vector<std::string> paths(std::initializer_list<uint64_t> ids) {
    std::vector<std::string> out;
    for (uint64_t id : ids) out.push_back(devpath(id));
    return out;
}

// The default machine plus a 512 MiB DIMM at 17 GiB (blocks 136-139, node 0) and a 2 GiB
// virtio-mem device at 33 GiB (blocks 264-279, node 1) with 256 MiB units (2 blocks).
MachineSpec device_spec() {
    MachineSpec spec = default_machine_spec();
    spec.devices = {dimm("dimm0", 17 * GiB, 4 * kBlock),
                    virtio("vmem0", 33 * GiB, 2 * GiB, 2 * kBlock, 0, 1)};
    return spec;
}

Error build_error(const MachineSpec& spec) {
    auto r = Machine::build(spec);
    REQUIRE_FALSE(r.ok());
    return r.error();
}

}  // namespace

TEST_CASE("devices are validated at build time", "[devices]") {
    struct Bad {
        const char* what;
        DeviceSpec device;
    };
    const Bad bad[] = {
        {"empty name", dimm("", 17 * GiB, kBlock)},
        {"slash in name", dimm("a/b", 17 * GiB, kBlock)},
        {"dot-dot name", dimm("..", 17 * GiB, kBlock)},
        {"node", dimm("d", 17 * GiB, kBlock, 2)},
        {"unaligned start", dimm("d", 17 * GiB + MiB, kBlock)},
        {"unaligned size", dimm("d", 17 * GiB, kBlock + MiB)},
        {"empty", dimm("d", 17 * GiB, 0)},
        {"outside pluggable", dimm("d", 60 * GiB, kBlock)},
        {"across two pluggable ranges", dimm("d", 33 * GiB - kBlock, 2 * kBlock)},
        {"over hot-added memory", dimm("d", 15 * GiB, 1 * GiB)},
        {"over boot memory", dimm("d", 0, kBlock)},
        {"dimm with a unit", DeviceSpec{"d", DeviceKind::Dimm, 0, 17 * GiB, 2 * kBlock, kBlock, 0}},
        {"dimm half plugged",
         DeviceSpec{"d", DeviceKind::Dimm, 0, 17 * GiB, 2 * kBlock, 0, kBlock}},
        {"virtio without unit", virtio("v", 17 * GiB, 4 * kBlock, 0, 0)},
        {"virtio unit not blocks", virtio("v", 17 * GiB, 4 * kBlock, kBlock / 2, 0)},
        {"virtio size not units", virtio("v", 17 * GiB, 3 * kBlock, 2 * kBlock, 0)},
        {"virtio start not unit aligned",
         virtio("v", 17 * GiB + kBlock, 4 * kBlock, 2 * kBlock, 0)},
        {"virtio plugged not units", virtio("v", 17 * GiB, 4 * kBlock, 2 * kBlock, kBlock)},
        {"virtio plugged too much", virtio("v", 17 * GiB, 4 * kBlock, 2 * kBlock, 6 * kBlock)},
    };
    for (const Bad& b : bad) {
        INFO(b.what);
        MachineSpec spec = default_machine_spec();
        spec.devices = {b.device};
        CHECK(build_error(spec).code == EINVAL);
    }
    MachineSpec twice = default_machine_spec();
    twice.devices = {dimm("d", 17 * GiB, kBlock), dimm("d", 18 * GiB, kBlock)};
    CHECK_THAT(build_error(twice).message, Catch::Contains("twice"));
    MachineSpec overlap = default_machine_spec();
    overlap.devices = {dimm("a", 17 * GiB, 4 * kBlock), dimm("b", 17 * GiB + kBlock, kBlock)};
    CHECK_THAT(build_error(overlap).message, Catch::Contains("overlaps device \"a\""));
}

TEST_CASE("block faults are validated at build time", "[devices][slow]") {
    MachineSpec spec = default_machine_spec();
    spec.block_faults = {BlockFaultSpec{24, 10, false}};
    CHECK(build_error(spec).code == EINVAL);
    spec.block_faults = {BlockFaultSpec{35, -2, false}};
    CHECK(build_error(spec).code == EINVAL);
    spec.block_faults = {BlockFaultSpec{35, 10, true}};
    Machine m = make(spec);
    CHECK(m.block_fault(35).migration_ms == 10);
    CHECK(m.blocks().at(35).unmovable);
}

TEST_CASE("plugged device memory is present and offline at start", "[devices]") {
    MachineSpec spec = device_spec();
    spec.devices[0].plugged = spec.devices[0].size;
    spec.devices[1].plugged = 6 * kBlock;
    spec.block_faults = {BlockFaultSpec{265, 5, false}};  // plugged device memory is present
    spec.params.auto_online_blocks = OnlineType::Online;  // applies to later adds only
    Machine m = make(spec);
    CHECK(m.last_seqnum() == 0);
    for (uint64_t id = 136; id < 140; ++id) {
        REQUIRE(m.blocks().present(id));
        CHECK_FALSE(is_online(m, id));
        CHECK(m.blocks().at(id).hotplugged);
        CHECK(m.blocks().at(id).node == 0);
        CHECK(m.device_of(id) == m.device("dimm0"));
    }
    for (uint64_t id = 264; id < 270; ++id) {
        REQUIRE(m.blocks().present(id));
        CHECK(m.blocks().at(id).node == 1);
        CHECK(m.device_of(id) == m.device("vmem0"));
    }
    CHECK_FALSE(m.blocks().present(270));
    CHECK(m.device_of(270) == m.device("vmem0"));  // the group covers the whole device
    CHECK(m.device_of(279) == m.device("vmem0"));
    CHECK(m.device_of(280) == nullptr);
    CHECK(m.device_of(135) == nullptr);
    CHECK(m.device("vmem0")->plugged == 6 * kBlock);
    CHECK(m.device("nope") == nullptr);
    CHECK(m.devices().size() == 2);
    CHECK(m.block_fault(265).migration_ms == 5);
    CHECK(device_kind_name(DeviceKind::Dimm) == "dimm");
    CHECK(device_kind_name(DeviceKind::VirtioMem) == "virtio-mem");
}

TEST_CASE("plugging a DIMM adds every block, then auto-onlines them in order", "[devices]") {
    MachineSpec spec = device_spec();
    spec.params.auto_online_blocks = OnlineType::OnlineMovable;
    Machine m = make(spec);
    Outcome o = m.plug_device("dimm0");
    REQUIRE(o.ok());
    CHECK(actions(o) == std::vector<std::string>{"add", "add", "add", "add", "online", "online",
                                                 "online", "online"});
    CHECK(devpaths(o) == paths({136, 137, 138, 139, 136, 137, 138, 139}));
    check_event_stream(o, 0);
    CHECK(o.changes.added == std::vector<uint64_t>{136, 137, 138, 139});
    for (uint64_t id = 136; id < 140; ++id) {
        CHECK(contains(o.changes.blocks, id));
        CHECK(zone_of(m, id) == Zone::Movable);
    }
    CHECK(contains_node(o.changes.nodes, 0));
    CHECK(m.device("dimm0")->plugged == 4 * kBlock);
    CHECK(o.changes.params);  // the device's plugged size is a global setting
    CHECK(m.device("dimm0")->present_movable_pages == 4 * kPagesPerBlock);
    CHECK(m.device("dimm0")->present_kernel_pages == 0);

    const auto before = snapshot(m);
    const uint64_t seq = m.last_seqnum();
    check_no_effect(m, m.plug_device("dimm0"), EEXIST, before, seq);
    check_no_effect(m, m.plug_device("dimm9"), ENODEV, before, seq);
    check_no_effect(m, m.unplug_device("dimm9"), ENODEV, before, seq);
    check_no_effect(m, m.resize_device("dimm9", 0), ENODEV, before, seq);
    check_no_effect(m, m.resize_device("dimm0", 0), EINVAL, before, seq);
}

TEST_CASE("unplugging a DIMM offlines what is online, then removes every block", "[devices]") {
    Machine m = make(device_spec());
    REQUIRE(m.plug_device("dimm0").ok());
    REQUIRE(m.set_state(137, OnlineType::OnlineKernel).ok());
    REQUIRE(m.set_state(139, OnlineType::OnlineMovable).ok());
    const uint64_t seq = m.last_seqnum();
    Outcome o = m.unplug_device("dimm0");
    REQUIRE(o.ok());
    CHECK(actions(o) ==
          std::vector<std::string>{"offline", "offline", "remove", "remove", "remove", "remove"});
    CHECK(devpaths(o) == paths({137, 139, 136, 137, 138, 139}));
    check_event_stream(o, seq);
    REQUIRE(o.changes.removed.size() == 4);
    for (uint64_t id = 136; id < 140; ++id) {
        CHECK_FALSE(m.blocks().present(id));
        CHECK(removed_contains(o.changes, id));
    }
    CHECK(m.device("dimm0")->plugged == 0);
    CHECK(m.device("dimm0")->present_kernel_pages == 0);
    CHECK(m.device("dimm0")->present_movable_pages == 0);
    const auto before = snapshot(m);
    check_no_effect(m, m.unplug_device("dimm0"), EINVAL, before, m.last_seqnum());
    // And it plugs again.
    CHECK(m.plug_device("dimm0").ok());
}

TEST_CASE("a failed DIMM unplug rolls back with the default online type", "[devices]") {
    MachineSpec spec = device_spec();
    spec.devices[0].plugged = spec.devices[0].size;
    spec.block_faults = {BlockFaultSpec{138, 0, true}};
    Machine m = make(spec);
    for (uint64_t id = 136; id < 139; ++id)
        REQUIRE(m.set_state(id, OnlineType::OnlineMovable).ok());
    const uint64_t seq = m.last_seqnum();
    Outcome o = m.unplug_device("dimm0");
    CHECK(o.error.code == EBUSY);
    CHECK(actions(o) == std::vector<std::string>{"offline", "offline", "online", "online"});
    CHECK(devpaths(o) == paths({136, 137, 136, 137}));
    check_event_stream(o, seq);
    CHECK(o.changes.removed.empty());
    CHECK(m.device("dimm0")->plugged == 4 * kBlock);
    for (uint64_t id = 136; id < 140; ++id) CHECK(m.blocks().present(id));
    // device_online uses the policy: Movable now spans 138 only, 136-137 touch no zone -> Normal.
    CHECK(zone_of(m, 136) == Zone::Normal);
    CHECK(zone_of(m, 137) == Zone::Normal);
    CHECK(zone_of(m, 138) == Zone::Movable);
}

TEST_CASE("a DIMM with a slow block cannot be unplugged: removal does not wait",
          "[devices][slow]") {
    MachineSpec spec = device_spec();
    spec.devices[0].plugged = spec.devices[0].size;
    spec.block_faults = {BlockFaultSpec{137, 1000, false}};
    Machine m = make(spec);
    // Offline, the slow block is no obstacle.
    MachineSpec copy = spec;
    Machine offline_copy = make(copy);
    REQUIRE(offline_copy.unplug_device("dimm0").ok());
    // Online, it is.
    for (uint64_t id = 136; id < 140; ++id)
        REQUIRE(m.set_state(id, OnlineType::OnlineMovable).ok());
    Outcome o = m.unplug_device("dimm0");
    CHECK(o.error.code == EBUSY);
    CHECK_FALSE(o.pending_offline_ms.has_value());
    CHECK(actions(o) == std::vector<std::string>{"offline", "online"});
    for (uint64_t id = 136; id < 140; ++id)
        CHECK(m.blocks().at(id).block_state() == BlockState::Online);
}

TEST_CASE("device ranges are the devices' own", "[devices]") {
    Machine m = make(device_spec());
    const auto before = snapshot(m);
    check_no_effect(m, m.probe(17 * GiB), EEXIST, before, 0);
    check_no_effect(m, m.add_memory(17 * GiB + 2 * kBlock, 4 * kBlock, 0), EEXIST, before, 0);
    check_no_effect(m, m.add_memory(34 * GiB, kBlock, 1), EEXIST, before, 0);
    REQUIRE(m.plug_device("dimm0").ok());
    const auto plugged = snapshot(m);
    const uint64_t seq = m.last_seqnum();
    check_no_effect(m, m.remove_memory(17 * GiB, kBlock), EBUSY, plugged, seq);
    // Next to the device is fine.
    CHECK(m.probe(17 * GiB + 4 * kBlock).ok());
}

TEST_CASE("virtio-mem grows unit by unit from its start", "[devices][virtio]") {
    MachineSpec spec = device_spec();
    spec.params.auto_online_blocks = OnlineType::Online;
    Machine m = make(spec);
    Outcome o = m.resize_device("vmem0", 4 * kBlock);
    REQUIRE(o.ok());
    // Unit by unit: add both blocks, online both; then the next unit.
    CHECK(actions(o) == std::vector<std::string>{"add", "add", "online", "online", "add", "add",
                                                 "online", "online"});
    CHECK(devpaths(o) == paths({264, 265, 264, 265, 266, 267, 266, 267}));
    check_event_stream(o, 0);
    CHECK(o.changes.added == std::vector<uint64_t>{264, 265, 266, 267});
    CHECK(contains_node(o.changes.nodes, 1));
    CHECK(m.device("vmem0")->plugged == 4 * kBlock);
    for (uint64_t id = 264; id < 268; ++id) {
        CHECK(is_online(m, id));
        CHECK(m.blocks().at(id).node == 1);
    }

    const auto before = snapshot(m);
    const uint64_t seq = m.last_seqnum();
    check_no_effect(m, m.resize_device("vmem0", 3 * kBlock), EINVAL, before, seq);  // not units
    check_no_effect(m, m.resize_device("vmem0", 2 * GiB + 2 * kBlock), EINVAL, before, seq);
    // Same size: nothing to do.
    Outcome same = m.resize_device("vmem0", 4 * kBlock);
    CHECK(same.ok());
    CHECK(same.events.empty());
    CHECK(same.changes.empty());
    // plug = resize to the full size.
    Outcome full = m.plug_device("vmem0");
    REQUIRE(full.ok());
    CHECK(m.device("vmem0")->plugged == 2 * GiB);
    CHECK(full.changes.added.size() == 12);
    CHECK(m.blocks().present(279));
}

TEST_CASE("virtio-mem shrinks from the top and stops at a unit that cannot go",
          "[devices][virtio]") {
    // Three units plugged (264-269), all online Movable; 266 is unmovable. Shrinking to 0
    // unplugs unit 268-269, then unit 266-267 fails at 266 (nothing to roll back), and the
    // resize stops there with EBUSY, keeping 4 blocks plugged.
    MachineSpec spec = device_spec();
    spec.devices[1].plugged = 6 * kBlock;
    spec.block_faults = {BlockFaultSpec{266, 0, true}};
    Machine m = make(spec);
    for (uint64_t id = 264; id < 270; ++id)
        REQUIRE(m.set_state(id, OnlineType::OnlineMovable).ok());
    const uint64_t seq = m.last_seqnum();
    Outcome o = m.resize_device("vmem0", 0);
    CHECK(o.error.code == EBUSY);
    CHECK(actions(o) == std::vector<std::string>{"offline", "offline", "remove", "remove"});
    CHECK(devpaths(o) == paths({268, 269, 268, 269}));
    check_event_stream(o, seq);
    CHECK(m.device("vmem0")->plugged == 4 * kBlock);
    CHECK_FALSE(m.blocks().present(268));
    for (uint64_t id = 264; id < 268; ++id) CHECK(is_online(m, id));
}

TEST_CASE("a virtio-mem unit that fails rolls back into the zones it had", "[devices][virtio]") {
    // Unit 266-267: 266 Movable, 267 unmovable in Normal. Offlining 266 works, 267 fails,
    // and 266 comes back Movable (offline_and_remove_memory restores the zone), although a
    // plain `online` would now choose Normal under contig-zones.
    MachineSpec spec = device_spec();
    spec.devices[1].plugged = 4 * kBlock;
    spec.block_faults = {BlockFaultSpec{267, 0, true}};
    Machine m = make(spec);
    REQUIRE(m.set_state(266, OnlineType::OnlineMovable).ok());
    REQUIRE(m.set_state(267, OnlineType::OnlineKernel).ok());
    const uint64_t seq = m.last_seqnum();
    Outcome o = m.resize_device("vmem0", 2 * kBlock);
    CHECK(o.error.code == EBUSY);
    CHECK(actions(o) == std::vector<std::string>{"offline", "online"});
    CHECK(devpaths(o) == paths({266, 266}));
    check_event_stream(o, seq);
    CHECK(zone_of(m, 266) == Zone::Movable);
    CHECK(m.device("vmem0")->plugged == 4 * kBlock);
    CHECK(m.device("vmem0")->present_movable_pages == kPagesPerBlock);
    CHECK(m.device("vmem0")->present_kernel_pages == kPagesPerBlock);

    // unplug = resize to 0: the top unit fails the same way, the lower one is never reached.
    Outcome u = m.unplug_device("vmem0");
    CHECK(u.error.code == EBUSY);
    REQUIRE(m.set_block_fault(267, BlockFault{}, false).ok());
    Outcome ok = m.unplug_device("vmem0");
    REQUIRE(ok.ok());
    CHECK(m.device("vmem0")->plugged == 0);
    CHECK(ok.changes.removed.size() == 4);
}

TEST_CASE("a node's first memory from a device flips its node masks", "[devices]") {
    MachineSpec spec;
    spec.nodes = plain_nodes(2);
    spec.memory = {boot(0, 3 * GiB, 0), boot(4 * GiB, 1 * GiB, 0)};
    spec.pluggable = {PluggableRangeSpec{8 * GiB, 8 * GiB, 1}};
    spec.devices = {dimm("d1", 8 * GiB, 2 * kBlock, 1)};
    spec.params.auto_online_blocks = OnlineType::OnlineKernel;
    Machine m = make(spec);
    REQUIRE_FALSE(m.node_has_memory(1));
    Outcome o = m.plug_device("d1");
    REQUIRE(o.ok());
    CHECK(o.changes.node_masks);
    CHECK(contains_node(o.changes.nodes, 1));
    CHECK(m.node_has_normal_memory(1));
    o = m.unplug_device("d1");
    REQUIRE(o.ok());
    CHECK(o.changes.node_masks);
    CHECK_FALSE(m.node_has_memory(1));
}

TEST_CASE("memmap_on_memory: added memory carries its memmap", "[devices][memmap]") {
    MachineSpec spec = device_spec();
    spec.params.memmap_on_memory = MemmapOnMemory::Yes;
    spec.devices[1].plugged = 2 * kBlock;
    Machine m = make(spec);
    const uint64_t memmap = kPagesPerBlock * 64 / kPageSize;  // 512 pages: 2 MiB per 128 MiB
    REQUIRE(memmap == 512);
    // Boot and spec hot-added memory: no memmap of their own; plugged device memory: yes.
    CHECK(m.memmap_pages(5) == 0);
    CHECK(m.memmap_pages(72) == 0);
    CHECK(m.memmap_pages(264) == memmap);
    CHECK(m.memmap_pages(24) == 0);  // absent
    CHECK(m.node_managed_pages(0) == m.node_present_pages(0));

    REQUIRE(m.add_memory(18 * GiB, kBlock, 0).ok());  // block 144
    REQUIRE(m.probe(19 * GiB).ok());                  // block 152: probe adds without it
    REQUIRE(m.plug_device("dimm0").ok());             // blocks 136-139
    CHECK(m.blocks().at(144).memmap);
    CHECK_FALSE(m.blocks().at(152).memmap);
    CHECK(m.memmap_pages(152) == 0);
    CHECK(m.memmap_pages(136) == memmap);

    // Offline blocks carry nothing toward managed pages; online ones count as present.
    const uint64_t present0 = m.node_present_pages(0);
    REQUIRE(m.set_state(144, OnlineType::OnlineMovable).ok());
    REQUIRE(m.set_state(136, OnlineType::OnlineKernel).ok());
    REQUIRE(m.set_state(152, OnlineType::OnlineKernel).ok());
    CHECK(m.node_present_pages(0) == present0 + 3 * kPagesPerBlock);
    CHECK(m.node_managed_pages(0) == m.node_present_pages(0) - 2 * memmap);
    CHECK(m.node(0)->memmap_pages == 2 * memmap);
    REQUIRE(m.set_state(136, OnlineType::Offline).ok());
    CHECK(m.node_managed_pages(0) == m.node_present_pages(0) - memmap);
    // Node 1: the virtio-mem blocks.
    REQUIRE(m.set_state(264, OnlineType::OnlineMovable).ok());
    CHECK(m.node_managed_pages(1) == m.node_present_pages(1) - memmap);
    // Removal is unchanged by memmaps: the whole block goes.
    REQUIRE(m.remove_memory(18 * GiB, kBlock).ok());
    CHECK(m.node(0)->memmap_pages == 0);
    CHECK(m.node_managed_pages(0) == m.node_present_pages(0));

    // memmap_on_memory=N: nothing carries a memmap.
    Machine plain = make(device_spec());
    REQUIRE(plain.plug_device("dimm0").ok());
    CHECK(plain.memmap_pages(136) == 0);
}

// --- devices added at runtime ---------------------------------------------------------------

namespace {

NewDevice new_dimm(std::string name, int node, uint64_t size) {
    NewDevice n;
    n.name = std::move(name);
    n.node = node;
    n.size = size;
    return n;
}

NewDevice new_virtio(std::string name, int node, uint64_t size, uint64_t requested) {
    NewDevice n = new_dimm(std::move(name), node, size);
    n.kind = DeviceKind::VirtioMem;
    n.requested = requested;
    return n;
}

}  // namespace

TEST_CASE("a DIMM added at runtime goes to the first free place of its node", "[devices][add]") {
    MachineSpec spec = device_spec();
    spec.params.auto_online_blocks = OnlineType::Online;
    Machine m = make(spec);
    CHECK(m.free_device_name(DeviceKind::Dimm) == "dimm1");
    CHECK(m.free_device_name(DeviceKind::VirtioMem) == "virtio-mem0");

    // Node 0: 9-13 GiB is present memory, 17 GiB holds dimm0 (512 MiB): first fit follows it.
    Outcome o = m.create_device(new_dimm("dimm1", 0, 1 * GiB));
    REQUIRE(o.ok());
    const Device* d = m.device("dimm1");
    REQUIRE(d != nullptr);
    CHECK(d->added);
    CHECK(d->spec.start == 17 * GiB + 4 * kBlock);
    CHECK(d->plugged == 1 * GiB);
    const uint64_t first = d->spec.start / kBlock;
    CHECK(actions(o) == std::vector<std::string>{"add", "add", "add", "add", "add", "add", "add",
                                                 "add", "online", "online", "online", "online",
                                                 "online", "online", "online", "online"});
    CHECK(o.changes.devices);
    CHECK(o.changes.devices_before == std::vector<std::string>{"dimm0", "vmem0"});
    CHECK(o.changes.added.size() == 8);
    CHECK(m.blocks().at(first).node == 0);
    CHECK(m.blocks().at(first).online());

    // The next one on node 1 skips 13-17 GiB (present) and vmem0's range at 33 GiB.
    REQUIRE(m.create_device(new_dimm("dimm2", 1, 2 * GiB)).ok());
    CHECK(m.device("dimm2")->spec.start == 35 * GiB);
    CHECK(m.free_device_name(DeviceKind::Dimm) == "dimm3");

    // Unplugging an added device removes it; a configured one stays, empty.
    Outcome u = m.unplug_device("dimm1");
    REQUIRE(u.ok());
    CHECK(m.device("dimm1") == nullptr);
    CHECK(u.changes.devices);
    CHECK(u.changes.devices_before == std::vector<std::string>{"dimm0", "vmem0", "dimm1", "dimm2"});
    CHECK(u.changes.removed.size() == 8);
    CHECK_FALSE(m.blocks().present(first));
    CHECK(m.free_device_name(DeviceKind::Dimm) == "dimm1");
    // Its place is free again.
    REQUIRE(m.create_device(new_dimm("dimm1", 0, 1 * GiB)).ok());
    CHECK(m.device("dimm1")->spec.start == 17 * GiB + 4 * kBlock);
}

TEST_CASE("a virtio-mem device added at runtime plugs what is requested", "[devices][add]") {
    Machine m = make(device_spec());
    NewDevice n = new_virtio("virtio-mem0", 0, 4 * GiB, 1 * GiB);
    n.unit = 2 * kBlock;
    Outcome o = m.create_device(n);
    REQUIRE(o.ok());
    const Device* d = m.device("virtio-mem0");
    REQUIRE(d);
    CHECK(d->spec.unit == 2 * kBlock);
    CHECK(d->plugged == 1 * GiB);
    CHECK(d->spec.start % (2 * kBlock) == 0);
    CHECK(o.changes.added.size() == 8);
    REQUIRE(m.resize_device("virtio-mem0", 4 * GiB).ok());
    CHECK(m.device("virtio-mem0")->plugged == 4 * GiB);
    // Resizing to nothing keeps the device; unplugging removes it.
    REQUIRE(m.resize_device("virtio-mem0", 0).ok());
    CHECK(m.device("virtio-mem0") != nullptr);
    REQUIRE(m.unplug_device("virtio-mem0").ok());
    CHECK(m.device("virtio-mem0") == nullptr);
    // Unit defaults to the block size, requested to everything.
    REQUIRE(m.create_device(new_virtio("v", 1, 1 * GiB, 1 * GiB)).ok());
    CHECK(m.device("v")->spec.unit == kBlock);
    CHECK(m.device("v")->plugged == 1 * GiB);
}

TEST_CASE("adding a device that cannot exist changes nothing", "[devices][add]") {
    Machine m = make(device_spec());
    const auto before = snapshot(m);
    const uint64_t seq = m.last_seqnum();
    check_no_effect(m, m.create_device(new_dimm("dimm0", 0, 1 * GiB)), EINVAL, before, seq);
    check_no_effect(m, m.create_device(new_dimm("a/b", 0, 1 * GiB)), EINVAL, before, seq);
    check_no_effect(m, m.create_device(new_dimm("x", 2, 1 * GiB)), EINVAL, before, seq);
    check_no_effect(m, m.create_device(new_dimm("x", 0, 0)), EINVAL, before, seq);
    check_no_effect(m, m.create_device(new_dimm("x", 0, 100 * MiB)), EINVAL, before, seq);
    // Larger than any free place.
    check_no_effect(m, m.create_device(new_dimm("x", 0, 64 * GiB)), ENOSPC, before, seq);
    NewDevice at = new_dimm("x", 0, 1 * GiB);
    at.start = 9 * GiB;  // present memory
    check_no_effect(m, m.create_device(at), EINVAL, before, seq);
    at.start = 17 * GiB;  // dimm0's range
    check_no_effect(m, m.create_device(at), EINVAL, before, seq);
    at.start = 100 * GiB;  // outside every pluggable range
    check_no_effect(m, m.create_device(at), EINVAL, before, seq);
    NewDevice whole = new_dimm("x", 0, 1 * GiB);
    whole.requested = 128 * MiB;  // a DIMM plugs whole
    check_no_effect(m, m.create_device(whole), EINVAL, before, seq);
    NewDevice unit = new_virtio("x", 0, 1 * GiB, 128 * MiB);
    unit.unit = 256 * MiB;  // requested is not a multiple of the unit
    check_no_effect(m, m.create_device(unit), EINVAL, before, seq);
    CHECK(m.devices().size() == 2);
}
