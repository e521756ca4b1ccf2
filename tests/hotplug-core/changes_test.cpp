// ChangeSet: what adapters invalidate after an operation. A property test drives random
// operations and checks that every visible difference is announced.
#include "core_support.h"

#include <random>

using namespace coretest;

namespace {

struct NodeView {
    uint64_t present = 0;
    bool has_memory = false;
    bool has_normal = false;
};

std::vector<NodeView> node_views(const Machine& m) {
    std::vector<NodeView> out;
    for (int n = 0; n < static_cast<int>(m.nodes().size()); ++n)
        out.push_back({m.node_present_pages(n), m.node_has_memory(n), m.node_has_normal_memory(n)});
    return out;
}

// Pages of block `id` that zone `z` manages, as the kernel would count them.
std::pair<uint64_t, uint64_t> managed_pfns(const Machine& m, uint64_t id, Zone z) {
    const Block& b = m.blocks().at(id);
    const uint64_t ppb = m.pages_per_block();
    if (!b.online()) return {0, 0};
    if (b.multi_zone()) {
        // Boot blocks split by an architecture zone limit: clip to the zone.
        uint64_t lower = 0;
        for (int k = 0; k < static_cast<int>(z); ++k)
            lower = std::max(lower, arch_zone_limit(m.arch(), static_cast<Zone>(k)));
        const uint64_t upper = arch_zone_limit(m.arch(), z);
        const uint64_t s = std::max(id * m.block_size(), lower);
        const uint64_t e = std::min((id + 1) * m.block_size(), upper);
        if (s >= e) return {0, 0};
        return {s >> kPageShift, e >> kPageShift};
    }
    if (b.single_zone() != z) return {0, 0};
    return {id * ppb, (id + 1) * ppb};
}

// Spans are exactly the hull of the online pages they manage (the model works in whole
// blocks, so edge shrinking always lands on an online block); present pages add up.
void check_accounting(const Machine& m) {
    for (const auto& node : m.nodes()) {
        uint64_t early = 0;
        for (int zi = 0; zi < kZoneCount; ++zi) {
            const Zone z = static_cast<Zone>(zi);
            uint64_t lo = UINT64_MAX, hi = 0, pages = 0;
            for (uint64_t id : present_ids(m)) {
                if (m.blocks().at(id).node != node.spec.id) continue;
                auto [s, e] = managed_pfns(m, id, z);
                if (s >= e) continue;
                lo = std::min(lo, s);
                hi = std::max(hi, e);
                pages += e - s;
                if (is_kernel_zone(z) && !m.blocks().at(id).hotplugged) early += e - s;
            }
            const ZoneSpan& sp = node.zones[static_cast<size_t>(zi)];
            INFO("node " << node.spec.id << " zone " << zone_name(z));
            CHECK(sp.present_pages == pages);
            if (pages == 0) {
                CHECK(sp.empty());
            } else {
                CHECK(sp.start_pfn == lo);
                CHECK(sp.end_pfn == hi);
            }
        }
        CHECK(node.early_kernel_pages == early);
        // Memmaps carried by the node's online blocks.
        uint64_t memmap = 0;
        for (uint64_t id : present_ids(m))
            if (m.blocks().at(id).node == node.spec.id && m.blocks().at(id).online())
                memmap += m.memmap_pages(id);
        CHECK(node.memmap_pages == memmap);
        CHECK(m.node_managed_pages(node.spec.id) == m.node_present_pages(node.spec.id) - memmap);
    }
    // Memory groups: the counters auto-movable reads match the blocks; plugged memory is
    // exactly [start, start + plugged).
    for (const Device& d : m.devices()) {
        INFO("device " << d.spec.name);
        uint64_t kernel = 0, movable = 0;
        const uint64_t first = d.spec.start / m.block_size(), count = d.spec.size / m.block_size();
        for (uint64_t id = first; id < first + count; ++id) {
            CHECK(m.blocks().present(id) == (id - first < d.plugged / m.block_size()));
            if (!m.blocks().present(id) || !m.blocks().at(id).online()) continue;
            CHECK(m.device_of(id) == &d);
            (is_kernel_zone(*zone_of(m, id)) ? kernel : movable) += m.pages_per_block();
        }
        CHECK(d.present_kernel_pages == kernel);
        CHECK(d.present_movable_pages == movable);
    }
}

struct Checker {
    Machine& m;
    std::map<uint64_t, BlockView> before;
    std::vector<NodeView> nodes_before;
    uint64_t seq_before = 0;

    explicit Checker(Machine& machine) : m(machine) { arm(); }

    void arm() {
        before = snapshot(m);
        nodes_before = node_views(m);
        seq_before = m.last_seqnum();
    }

    // Every difference between `before` and now is announced by `o.changes`.
    void verify(const Outcome& o, const std::string& what) {
        INFO(what << " -> errno " << o.error.code);
        const auto after = snapshot(m);
        const ChangeSet& c = o.changes;
        for (const auto& [id, view] : after) {
            auto it = before.find(id);
            if (it == before.end()) {
                INFO("block " << id << " appeared");
                CHECK(contains(c.added, id));
                continue;
            }
            const BlockView& old = it->second;
            if (old.online != view.online) {
                INFO("block " << id << " changed state");
                CHECK(contains(c.blocks, id));
            }
            if (old.valid_zones != view.valid_zones) {
                INFO("block " << id << " valid_zones '" << old.valid_zones << "' -> '"
                              << view.valid_zones << "'");
                CHECK((contains(c.blocks, id) || in_valid_zone_ranges(c, id) ||
                       c.all_valid_zones));
            }
            CHECK(old.node == view.node);
        }
        for (const auto& [id, view] : before) {
            if (after.count(id)) continue;
            INFO("block " << id << " vanished");
            CHECK(removed_contains(c, id));
        }
        const auto nodes_after = node_views(m);
        for (size_t n = 0; n < nodes_after.size(); ++n) {
            INFO("node " << n);
            if (nodes_after[n].present != nodes_before[n].present)
                CHECK(contains_node(c.nodes, static_cast<int>(n)));
            if (nodes_after[n].has_memory != nodes_before[n].has_memory ||
                nodes_after[n].has_normal != nodes_before[n].has_normal)
                CHECK(c.node_masks);
        }
        // Seqnums: strictly increasing, continuing the global counter.
        uint64_t last = seq_before;
        for (const auto& e : o.events) {
            CHECK(e.seqnum == last + 1);
            last = e.seqnum;
        }
        CHECK(m.last_seqnum() == last);
        check_accounting(m);
        arm();
    }
};

// `extended` adds slow offlines, notifier errors, hwpoison, block faults and devices to the
// operations (the spec should then define devices and enable memory_failure).
void run_random_operations(MachineSpec spec, unsigned seed, int steps, bool extended = false) {
    Machine m = make(spec);
    Checker check(m);
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
    const OnlineType types[] = {OnlineType::Offline, OnlineType::Online, OnlineType::OnlineKernel,
                                OnlineType::OnlineMovable};
    const uint64_t bs = m.block_size();
    auto random_block = [&]() -> uint64_t {
        // Mostly blocks that exist, sometimes holes in the id space.
        if (pick(8) == 0) return pick(420);
        auto ids = present_ids(m);
        return ids[pick(ids.size())];
    };
    // What the run exercised, so a change to the generator cannot silently hollow it out.
    int onlined = 0, offlined = 0, added = 0, removed = 0, span_changes = 0;
    int pending = 0, settled = 0, device_ops = 0, poisoned = 0, basic_steps = 0;
    auto going_offline = [&]() -> std::optional<uint64_t> {
        for (uint64_t id : present_ids(m))
            if (m.blocks().at(id).block_state() == BlockState::GoingOffline) return id;
        return std::nullopt;
    };
    for (int step = 0; step < steps; ++step) {
        const uint64_t op = pick(100);
        Outcome o;
        std::string what;
        const bool extended_step = extended && pick(3) == 0;
        basic_steps += !extended_step;
        if (extended_step) {
            // The extended operations, a third of the steps.
            const uint64_t x = pick(100);
            const auto& devices = m.devices();
            if (x < 25) {
                // Settle a pending offline, or poke a block that is not going offline.
                const auto id = going_offline();
                const uint64_t target = id ? *id : random_block();
                const bool finish = pick(2) == 1;
                what = std::string(finish ? "finish" : "abort") + "_offline(" +
                       std::to_string(target) + ")";
                o = finish ? m.finish_offline(target) : m.abort_offline(target);
                settled += id && o.ok();
                if (o.ok()) CHECK(o.events.size() == (finish ? 1u : 0u));
            } else if (x < 35) {
                const auto action =
                    pick(2) ? NotifierAction::GoingOnline : NotifierAction::GoingOffline;
                const int errs[] = {0, 0, 0, -ENOMEM, -EBUSY, 1, -5000};
                const int err = errs[pick(7)];
                what = "set_notifier_error(" + std::to_string(err) + ")";
                o = m.set_notifier_error(action, err);
            } else if (x < 45) {
                const uint64_t id = random_block();
                const int64_t delays[] = {0, 50, 50, -1, -3};
                const int64_t ms = delays[pick(5)];
                what = "set_block_fault(" + std::to_string(id) + ", " + std::to_string(ms) + ")";
                o = m.set_block_fault(id, BlockFault{ms, 0}, pick(8) == 0);
            } else if (x < 60) {
                const uint64_t addr = random_block() * bs + pick(bs / kPageSize) * kPageSize;
                const bool hard = pick(2) == 1;
                what = std::string(hard ? "hard" : "soft") + "_offline_page(" +
                       std::to_string(addr) + ")";
                o = hard ? m.hard_offline_page(addr) : m.soft_offline_page(addr);
                poisoned += o.ok();
            } else if (!devices.empty()) {
                const Device& d = devices[pick(devices.size())];
                const std::string name = d.spec.name;
                ++device_ops;
                if (d.spec.kind == DeviceKind::VirtioMem && x < 85) {
                    const uint64_t bytes = pick(d.spec.size / d.spec.unit + 2) * d.spec.unit;
                    what = "resize_device(" + name + ", " + std::to_string(bytes) + ")";
                    o = m.resize_device(name, bytes);
                } else {
                    const bool plug = pick(2) == 1;
                    what = (plug ? "plug_device(" : "unplug_device(") + name + ")";
                    o = plug ? m.plug_device(name) : m.unplug_device(name);
                }
            }
        } else if (op < 35) {
            const uint64_t id = random_block();
            const OnlineType t = types[pick(4)];
            what = "set_state(" + std::to_string(id) + ", " + std::string(online_type_name(t)) + ")";
            const bool was_online = m.blocks().present(id) && is_online(m, id);
            o = m.set_state(id, t);
            if (o.pending_offline_ms) {
                ++pending;
                CHECK(o.events.empty());
                CHECK(o.pending_block == id);
                CHECK(m.blocks().at(id).block_state() == BlockState::GoingOffline);
                CHECK(contains(o.changes.blocks, id));
            } else if (o.ok()) {
                REQUIRE(o.events.size() == 1);
                CHECK(o.events[0].action == (was_online ? "offline" : "online"));
                CHECK(o.events[0].devpath == devpath(id));
                CHECK(contains(o.changes.blocks, id));
            }
        } else if (op < 60) {
            const uint64_t id = random_block();
            const bool on = pick(2) == 1;
            what = "set_online(" + std::to_string(id) + ", " + (on ? "1" : "0") + ")";
            o = m.set_online(id, on);
            pending += o.pending_offline_ms.has_value();
        } else if (op < 70) {
            uint64_t addr = pick(52) * 1 * GiB + pick(8) * bs;
            if (pick(10) == 0) addr += 4096;
            what = "probe(" + std::to_string(addr) + ")";
            o = m.probe(addr);
        } else if (op < 77) {
            const uint64_t start = 8 * GiB + pick(350) * bs;
            const uint64_t size = (1 + pick(8)) * bs;
            const int node = static_cast<int>(pick(2));
            what = "add_memory(" + std::to_string(start / bs) + ", " +
                   std::to_string(size / bs) + " blocks, node " + std::to_string(node) + ")";
            o = m.add_memory(start, size, node);
        } else if (op < 85) {
            const uint64_t first = random_block();
            const uint64_t count = 1 + pick(4);
            what = "remove_memory(" + std::to_string(first) + ", " + std::to_string(count) +
                   " blocks)";
            o = m.remove_memory(first * bs, count * bs);
        } else if (op < 89) {
            const OnlineType t = types[pick(4)];
            what = "set_auto_online_blocks(" + std::string(online_type_name(t)) + ")";
            o = m.set_auto_online_blocks(t);
        } else if (op < 92) {
            const OnlinePolicy p = pick(2) ? OnlinePolicy::AutoMovable : OnlinePolicy::ContigZones;
            what = "set_online_policy(" + std::string(online_policy_name(p)) + ")";
            o = m.set_online_policy(p);
        } else if (op < 95) {
            const unsigned ratios[] = {0, 10, 50, 100, 301, 1000};
            const unsigned r = ratios[pick(6)];
            what = "set_auto_movable_ratio(" + std::to_string(r) + ")";
            o = m.set_auto_movable_ratio(r);
        } else if (op < 98) {
            const bool aware = pick(2) == 1;
            what = std::string("set_auto_movable_numa_aware(") + (aware ? "Y" : "N") + ")";
            o = m.set_auto_movable_numa_aware(aware);
        } else {
            what = "synthetic_uevent";
            o = m.synthetic_uevent(devpath(random_block()), "change", {{"SYNTH_UUID", "0"}});
        }
        for (const auto& e : o.events) {
            onlined += e.action == "online";
            offlined += e.action == "offline";
            added += e.action == "add";
            removed += e.action == "remove";
        }
        span_changes += !o.changes.valid_zones.empty();
        INFO("step " << step);
        check.verify(o, what);
        // Removals that fail roll back (with events); a virtio-mem resize keeps what it did.
        const bool removal = what.rfind("remove_memory", 0) == 0 ||
                             what.rfind("unplug_device", 0) == 0 ||
                             what.rfind("resize_device", 0) == 0 ||
                             what.rfind("plug_device(vmem", 0) == 0;
        if (!o.ok() && !removal) {
            // A failed operation (other than a rolled-back removal) has no visible effect.
            CHECK(o.events.empty());
            CHECK(o.changes.empty());
        }
    }
    INFO("online " << onlined << " offline " << offlined << " add " << added << " remove "
                   << removed << " span changes " << span_changes);
    CHECK(onlined > basic_steps / 10);
    CHECK(offlined > basic_steps / 10);
    CHECK(added > basic_steps / 50);
    CHECK(removed > basic_steps / 50);
    CHECK(span_changes > basic_steps / 50);
    if (extended) {
        INFO("pending " << pending << " settled " << settled << " device ops " << device_ops
                        << " poisoned " << poisoned);
        CHECK(pending > steps / 200);
        CHECK(settled > steps / 400);
        CHECK(device_ops > steps / 50);
        CHECK(poisoned > steps / 200);
    }
}

}  // namespace

TEST_CASE("ChangeSet basics", "[changes]") {
    ChangeSet a;
    CHECK(a.empty());
    ChangeSet b;
    b.blocks = {3};
    b.valid_zones = {{1, 2}};
    b.nodes = {1};
    b.node_masks = true;
    CHECK_FALSE(b.empty());
    a.merge(b);
    ChangeSet c;
    c.blocks = {4};
    c.added = {9};
    c.removed = {RemovedBlock{7, 1}};
    c.params = true;
    c.all_valid_zones = true;
    a.merge(c);
    CHECK(a.blocks == std::vector<uint64_t>{3, 4});
    CHECK(a.added == std::vector<uint64_t>{9});
    REQUIRE(a.removed.size() == 1);
    CHECK(a.removed[0].id == 7);
    CHECK(a.removed[0].node == 1);
    CHECK(a.valid_zones.size() == 1);
    CHECK(a.nodes == std::vector<int>{1});
    CHECK(a.node_masks);
    CHECK(a.params);
    CHECK(a.all_valid_zones);
    // Merging an empty set changes nothing.
    ChangeSet before = a;
    a.merge(ChangeSet{});
    CHECK(a.blocks == before.blocks);
    CHECK(a.all_valid_zones);

    for (bool flag : {true, false}) {
        ChangeSet only;
        if (flag) only.params = true; else only.node_masks = true;
        CHECK_FALSE(only.empty());
    }
    ChangeSet r;
    r.removed.push_back(RemovedBlock{1, 0});
    CHECK_FALSE(r.empty());
}

TEST_CASE("onlining reports the block and every offline block that now reads differently",
          "[changes]") {
    MachineSpec spec = default_machine_spec();
    spec.params.movable_node = true;
    Machine m = make(spec);
    Checker check(m);
    // Growing node 0's Normal from 32..39 to 32..90 turns 72..89 Normal-first.
    Outcome o = m.set_state(90, OnlineType::OnlineKernel);
    REQUIRE(o.ok());
    CHECK(contains(o.changes.blocks, 90));
    CHECK_FALSE(o.changes.all_valid_zones);  // contig-zones: spans say it all
    check.verify(o, "online_kernel 90");
    // Offlining the same block shrinks the span back.
    o = m.set_state(90, OnlineType::Offline);
    REQUIRE(o.ok());
    CHECK(contains(o.changes.blocks, 90));
    check.verify(o, "offline 90");
    // A middle block: no span changes, only the block itself.
    o = m.set_state(35, OnlineType::Offline);
    REQUIRE(o.ok());
    CHECK(o.changes.blocks == std::vector<uint64_t>{35});
    CHECK(o.changes.valid_zones.empty());
    check.verify(o, "offline 35");
}

TEST_CASE("policy changes invalidate every valid_zones", "[changes]") {
    Machine m = default_machine();
    Checker check(m);
    Outcome o = m.set_online_policy(OnlinePolicy::AutoMovable);
    CHECK(o.ok());
    CHECK(o.changes.params);
    CHECK(o.changes.all_valid_zones);
    CHECK(o.events.empty());
    CHECK(m.params().online_policy == OnlinePolicy::AutoMovable);
    CHECK(m.valid_zones(72) == "Movable Normal");
    check.verify(o, "policy auto-movable");
    // Under contig-zones the ratio does not matter: no valid_zones invalidation needed.
    REQUIRE(m.set_online_policy(OnlinePolicy::ContigZones).ok());
    check.arm();
    o = m.set_auto_movable_ratio(0);
    CHECK(o.changes.params);
    CHECK_FALSE(o.changes.all_valid_zones);
    check.verify(o, "ratio 0 under contig-zones");
    o = m.set_auto_online_blocks(OnlineType::OnlineMovable);
    CHECK(o.changes.params);
    CHECK_FALSE(o.changes.all_valid_zones);
    check.verify(o, "auto_online_blocks");
}

TEST_CASE("property: every visible change is announced (default machine)", "[changes][property]") {
    MachineSpec spec = default_machine_spec();
    spec.unmovable = {45, 80, 110};
    spec.holes = {12};
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        run_random_operations(spec, seed, 1500);
    }
}

TEST_CASE("property: every visible change is announced (movable_node)", "[changes][property]") {
    MachineSpec spec = default_machine_spec();
    spec.params.movable_node = true;
    spec.unmovable = {20, 60};
    for (unsigned seed : {11u, 12u}) {
        INFO("seed " << seed);
        run_random_operations(spec, seed, 1500);
    }
}

TEST_CASE("property: every visible change is announced (auto-movable, auto-online)",
          "[changes][property]") {
    MachineSpec spec = default_machine_spec();
    spec.params.online_policy = OnlinePolicy::AutoMovable;
    spec.params.auto_online_blocks = OnlineType::Online;
    run_random_operations(spec, 21u, 1500);
}

TEST_CASE("property: every visible change is announced (mixed boot layout)", "[changes][property]") {
    // x86_64, two nodes: node 0 has boot memory offline inside DMA32 (1..2 GiB) and a boot
    // Movable range (movablecore-style); node 1 starts without memory.
    MachineSpec spec;
    spec.nodes = plain_nodes(2);
    spec.memory = {boot(0, 1 * GiB, 0), boot_offline(1 * GiB, 1 * GiB, 0), boot(2 * GiB, 1 * GiB, 0),
                   boot(4 * GiB, 2 * GiB, 0),
                   MemoryRangeSpec{6 * GiB, 1 * GiB, 0, true, false, Zone::Movable},
                   hot_offline(8 * GiB, 2 * GiB, 1), hot_offline(10 * GiB, 1 * GiB, 0)};
    spec.pluggable = {PluggableRangeSpec{8 * GiB, 8 * GiB, 1}, PluggableRangeSpec{16 * GiB, 32 * GiB, 0}};
    spec.params.movable_node = true;
    run_random_operations(spec, 31u, 2000);
    spec.params.movable_node = false;
    run_random_operations(spec, 32u, 2000);
}

TEST_CASE("property: every visible change is announced (s390x)", "[changes][property]") {
    MachineSpec spec;
    spec.arch = Arch::S390x;
    spec.block_size = 256 * MiB;
    spec.nodes = plain_nodes(1);
    spec.memory = {boot(0, 4 * GiB), hot_offline(4 * GiB, 4 * GiB)};
    spec.pluggable = {PluggableRangeSpec{4 * GiB, 28 * GiB, 0}};
    run_random_operations(spec, 41u, 2000);
}

namespace {

// The default machine with a DIMM and a virtio-mem device per node, slow and unmovable
// blocks, hwpoison enabled and memmap_on_memory on.
MachineSpec extended_spec() {
    MachineSpec spec = default_machine_spec();
    spec.devices = {dimm("dimm0", 17 * GiB, 4 * kBlock, 0, true),
                    dimm("dimm1", 33 * GiB, 2 * kBlock, 1),
                    virtio("vmem0", 18 * GiB, 2 * GiB, 2 * kBlock, 4 * kBlock, 0),
                    virtio("vmem1", 34 * GiB, 1 * GiB, 4 * kBlock, 0, 1)};
    spec.block_faults = {BlockFaultSpec{110, 0, true}};
    for (uint64_t id = 1; id < 136; id += 5)  // every fifth present block offlines slowly
        if ((id < 24 || id >= 32) && id != 110) spec.block_faults.push_back({id, 40, false});
    spec.block_faults.push_back({138, -1, false});  // in dimm0
    spec.params.memory_failure = true;
    spec.params.memmap_on_memory = MemmapOnMemory::Yes;
    return spec;
}

}  // namespace

TEST_CASE("property: every visible change is announced (devices, faults, contig-zones)",
          "[changes][property]") {
    for (unsigned seed : {51u, 52u}) {
        INFO("seed " << seed);
        run_random_operations(extended_spec(), seed, 2000, true);
    }
}

TEST_CASE("property: every visible change is announced (devices, faults, auto-movable)",
          "[changes][property]") {
    MachineSpec spec = extended_spec();
    spec.params.online_policy = OnlinePolicy::AutoMovable;
    spec.params.auto_online_blocks = OnlineType::Online;
    for (unsigned seed : {61u, 62u}) {
        INFO("seed " << seed);
        run_random_operations(spec, seed, 2000, true);
    }
}
