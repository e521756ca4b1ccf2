// Machine queries, zone selection and the block state machine.
#include "hotplug/machine.h"

#include <algorithm>

namespace hotplug {

const NodeInfo* Machine::node(int id) const {
    if (id < 0 || id >= static_cast<int>(nodes_.size())) return nullptr;
    return &nodes_[id];
}

std::string Machine::block_devpath(uint64_t block) {
    return "/devices/system/memory/memory" + std::to_string(block);
}

Uevent Machine::event(std::string action, uint64_t block) {
    return Uevent{std::move(action), block_devpath(block), "memory", ++seqnum_, {}};
}

std::pair<uint64_t, uint64_t> Machine::block_pfns_in_zone(uint64_t block, Zone zone) const {
    const uint64_t start = block * block_size_, end = start + block_size_;
    uint64_t lower = 0;
    for (int z = 0; z < static_cast<int>(zone); ++z)
        lower = std::max(lower, arch_zone_limit(arch_, static_cast<Zone>(z)));
    const uint64_t upper = arch_zone_limit(arch_, zone);
    const uint64_t s = std::max(start, lower), e = std::min(end, upper);
    if (s >= e) return {0, 0};
    return {s >> kPageShift, e >> kPageShift};
}

uint64_t Machine::node_present_pages(int node) const {
    uint64_t total = 0;
    for (const auto& z : nodes_[node].zones) total += z.present_pages;
    return total;
}

uint64_t Machine::node_kernel_present_pages(int node) const {
    uint64_t total = 0;
    for (int z = 0; z < static_cast<int>(Zone::Movable); ++z)
        total += nodes_[node].zones[z].present_pages;
    return total;
}

// --- zone selection (mm/memory_hotplug.c: zone_for_pfn_range and friends) ---

Zone Machine::default_kernel_zone(int node, uint64_t start_pfn, uint64_t nr_pages) const {
    const auto& zones = nodes_[node].zones;
    for (Zone z : {Zone::DMA, Zone::DMA32})
        if (zones[static_cast<int>(z)].intersects(start_pfn, start_pfn + nr_pages)) return z;
    return Zone::Normal;
}

// auto_movable_can_online_movable: could `nr_pages` more go MOVABLE and keep
// MOVABLE <= ratio% x KERNEL_EARLY, on `node` (-1: system-wide)?
bool Machine::auto_movable_can_online_movable(int node, const Device* group,
                                              uint64_t nr_pages) const {
    const uint64_t ratio = params_.auto_movable_ratio;
    uint64_t kernel_early = 0, movable = 0;
    for (const auto& n : nodes_) {
        if (node >= 0 && n.spec.id != node) continue;
        kernel_early += n.early_kernel_pages;
        movable += n.zones[static_cast<int>(Zone::Movable)].present_pages;
    }
    // Other dynamic groups (virtio-mem) pay for their movable memory with their own kernel
    // memory first; only what that does not cover uses up early kernel memory.
    uint64_t req_kernel_early = 0, group_movable = 0;
    for (const auto& d : devices_) {
        if (d.spec.kind != DeviceKind::VirtioMem || &d == group) continue;
        if (node >= 0 && d.spec.node != node) continue;
        const uint64_t need = d.present_movable_pages * 100 / ratio;
        if (need > d.present_kernel_pages) req_kernel_early += need - d.present_kernel_pages;
        group_movable += d.present_movable_pages;
    }
    if (kernel_early <= req_kernel_early) return false;  // the kernel's test, `<=` included
    kernel_early -= req_kernel_early;
    movable -= group_movable;
    // A dynamic group's own kernel memory allows more movable memory inside it.
    if (group && group->spec.kind == DeviceKind::VirtioMem)
        kernel_early += group->present_kernel_pages;
    movable += nr_pages;
    // Saturate instead of wrapping (huge ratios): any limit that large admits everything.
    const uint64_t limit =
        kernel_early > UINT64_MAX / ratio ? UINT64_MAX : ratio * kernel_early / 100;
    return movable <= limit;
}

// auto_movable_zone_for_pfn: Movable if the rest of the block's memory group (a static
// group: the whole DIMM; a dynamic one: the virtio-mem unit; no group: the block) could all
// go Movable within the ratio, system-wide and (numa-aware) on the node; else kernel.
Zone Machine::auto_movable_zone(uint64_t block) const {
    const Block& b = blocks_.at(block);
    const uint64_t ppb = pages_per_block();
    const Zone kernel = default_kernel_zone(b.node, block * ppb, ppb);
    if (params_.auto_movable_ratio == 0) return kernel;
    const Device* group = device_of(block);
    uint64_t max_pages = ppb, online_pages = 0;
    if (group && group->spec.kind == DeviceKind::Dimm) {
        // A DIMM onlines all-or-nothing: once part of it is kernel, the rest follows.
        if (group->present_kernel_pages) return kernel;
        max_pages = group->spec.size >> kPageShift;
        online_pages = group->present_movable_pages;
    } else if (group && group->spec.unit != block_size_) {
        // A unit is unplugged as a whole: look at the unit's other online blocks.
        max_pages = group->spec.unit >> kPageShift;
        const uint64_t per_unit = group->spec.unit / block_size_;
        const uint64_t first = block - (block - group->spec.start / block_size_) % per_unit;
        for (uint64_t id = first; id < first + per_unit; ++id) {
            if (!blocks_.present(id) || !blocks_.at(id).online()) continue;
            if (blocks_.at(id).single_zone() != Zone::Movable) return kernel;
            online_pages += ppb;
        }
    }
    const uint64_t nr_pages = max_pages - online_pages;
    if (!auto_movable_can_online_movable(-1, group, nr_pages)) return kernel;
    if (params_.auto_movable_numa_aware &&
        !auto_movable_can_online_movable(b.node, group, nr_pages))
        return kernel;
    return Zone::Movable;
}

Zone Machine::choose_zone(uint64_t block, OnlineType type) const {
    const Block& b = blocks_.at(block);
    const uint64_t ppb = pages_per_block(), start_pfn = block * ppb, end = start_pfn + ppb;
    if (type == OnlineType::OnlineKernel) return default_kernel_zone(b.node, start_pfn, ppb);
    if (type == OnlineType::OnlineMovable) return Zone::Movable;
    if (params_.online_policy == OnlinePolicy::AutoMovable) return auto_movable_zone(block);
    // contig-zones: keep zones contiguous; fall back to movable_node's preference.
    const Zone kernel = default_kernel_zone(b.node, start_pfn, ppb);
    const auto& zones = nodes_[b.node].zones;
    const bool in_kernel = zones[static_cast<int>(kernel)].intersects(start_pfn, end);
    const bool in_movable = zones[static_cast<int>(Zone::Movable)].intersects(start_pfn, end);
    if (in_kernel != in_movable) return in_kernel ? kernel : Zone::Movable;
    return params_.movable_node ? Zone::Movable : kernel;
}

Zone Machine::zone_for_online(uint64_t block, OnlineType type) const {
    return choose_zone(block, type);
}

std::string Machine::valid_zones(uint64_t block) const {
    const Block& b = blocks_.at(block);
    // Only MEM_ONLINE shows its zone; a going-offline block computes like an offline one
    // (its pages still count as online meanwhile), as the kernel's valid_zones_show does.
    if (b.block_state() == BlockState::Online) {
        if (auto z = b.single_zone()) return std::string(zone_name(*z));
        return "none";
    }
    const Zone def = zone_for_online(block, OnlineType::Online);
    std::string out(zone_name(def));
    for (OnlineType t : {OnlineType::OnlineKernel, OnlineType::OnlineMovable}) {
        const Zone z = zone_for_online(block, t);
        if (z != def) {
            out += ' ';
            out += zone_name(z);
        }
    }
    return out;
}

// --- spans and accounting ---

void Machine::note_span_change(int, uint64_t os, uint64_t oe, uint64_t ns, uint64_t ne,
                               ChangeSet& changes) const {
    if (os == ns && oe == ne) return;
    const uint64_t ppb = pages_per_block();
    auto add = [&](uint64_t s, uint64_t e) {
        if (s < e) changes.valid_zones.emplace_back(s / ppb, (e - 1) / ppb);
    };
    if (os == oe || ns == ne) {
        add(os, oe);
        add(ns, ne);
        return;
    }
    add(std::min(os, ns), std::max(os, ns));
    add(std::min(oe, ne), std::max(oe, ne));
}

void Machine::grow_span(NodeInfo& node, Zone zone, uint64_t s, uint64_t e, ChangeSet& changes) {
    ZoneSpan& span = node.zones[static_cast<int>(zone)];
    const uint64_t os = span.start_pfn, oe = span.end_pfn;
    if (span.empty()) {
        span.start_pfn = s;
        span.end_pfn = e;
    } else {
        span.start_pfn = std::min(span.start_pfn, s);
        span.end_pfn = std::max(span.end_pfn, e);
    }
    note_span_change(node.spec.id, os, oe, span.start_pfn, span.end_pfn, changes);
}

void Machine::shrink_span(NodeInfo& node, Zone zone, uint64_t s, uint64_t e,
                          ChangeSet& changes) {
    ZoneSpan& span = node.zones[static_cast<int>(zone)];
    const uint64_t os = span.start_pfn, oe = span.end_pfn;
    const uint64_t ppb = pages_per_block();
    // Pages of `id` that are online in this zone on this node, as a pfn range.
    auto online_pfns = [&](uint64_t id) -> std::pair<uint64_t, uint64_t> {
        if (!blocks_.present(id)) return {0, 0};
        const Block& b = blocks_.at(id);
        if (!b.online() || b.node != node.spec.id) return {0, 0};
        if (b.multi_zone()) return block_pfns_in_zone(id, zone);
        if (b.single_zone() != zone) return {0, 0};
        return {id * ppb, (id + 1) * ppb};
    };
    if (s <= span.start_pfn) {
        span.start_pfn = span.end_pfn;  // empty unless something remains
        for (uint64_t id = e / ppb; id * ppb < oe; ++id) {
            auto [ps, pe] = online_pfns(id);
            if (ps < pe) {
                span.start_pfn = ps;
                break;
            }
        }
        if (span.start_pfn == span.end_pfn) span.start_pfn = span.end_pfn = 0;
    } else if (e >= span.end_pfn) {
        span.end_pfn = span.start_pfn;
        for (uint64_t id = s / ppb; id-- > os / ppb;) {
            auto [ps, pe] = online_pfns(id);
            if (ps < pe) {
                span.end_pfn = pe;
                break;
            }
        }
        if (span.start_pfn == span.end_pfn) span.start_pfn = span.end_pfn = 0;
    }
    note_span_change(node.spec.id, os, oe, span.start_pfn, span.end_pfn, changes);
}

void Machine::account(uint64_t block, Zone zone, bool clip, bool online, ChangeSet& changes) {
    const Block& b = blocks_.at(block);
    NodeInfo& node = nodes_[b.node];
    const uint64_t ppb = pages_per_block();
    auto [s, e] = clip ? block_pfns_in_zone(block, zone)
                       : std::pair<uint64_t, uint64_t>{block * ppb, (block + 1) * ppb};
    if (s >= e) return;
    const bool had_memory = node_has_memory(b.node);
    const bool had_normal = node_has_normal_memory(b.node);
    ZoneSpan& span = node.zones[static_cast<int>(zone)];
    const uint64_t pages = e - s;
    const bool early = !b.hotplugged && is_kernel_zone(zone);
    // Memory groups count their online pages by zone kind (auto-movable reads them);
    // a block's own memmap is present memory, just not managed (meminfo MemTotal).
    uint64_t unused = 0;
    uint64_t& group_pages = [&]() -> uint64_t& {
        const int d = device_index(block);
        if (d < 0) return unused;
        Device& group = devices_[static_cast<size_t>(d)];
        return is_kernel_zone(zone) ? group.present_kernel_pages : group.present_movable_pages;
    }();
    const uint64_t memmap = clip ? 0 : memmap_pages(block);
    if (online) {
        span.present_pages += pages;
        group_pages += pages;
        node.memmap_pages += memmap;
        if (early) node.early_kernel_pages += pages;
        grow_span(node, zone, s, e, changes);
    } else {
        span.present_pages -= pages;
        group_pages -= pages;
        node.memmap_pages -= memmap;
        if (early) node.early_kernel_pages -= pages;
        if (span.present_pages == 0) {
            note_span_change(b.node, span.start_pfn, span.end_pfn, 0, 0, changes);
            span.start_pfn = span.end_pfn = 0;
        } else {
            shrink_span(node, zone, s, e, changes);
        }
    }
    changes.nodes.push_back(b.node);
    if (had_memory != node_has_memory(b.node) || had_normal != node_has_normal_memory(b.node))
        changes.node_masks = true;
    if (params_.online_policy == OnlinePolicy::AutoMovable) changes.all_valid_zones = true;
}

// --- the block state machine ---

Outcome Machine::online_block(uint64_t id, OnlineType type) {
    Outcome out;
    Block& b = blocks_.at(id);
    const std::string name = "memory" + std::to_string(id);
    // memory_block_online refuses poisoned blocks before it even picks a zone.
    if (auto it = faults_.find(id); it != faults_.end() && it->second.poisoned_pages) {
        out.error = make_error(EHWPOISON, name + ": contains hardware-poisoned pages");
        return out;
    }
    // online_pages: the MEM_GOING_ONLINE notifier chain may veto (error injection).
    if (int err = notifier_error(NotifierAction::GoingOnline)) {
        out.error = make_error(-err, name + ": MEM_GOING_ONLINE notifier failed");
        return out;
    }
    const Zone zone = zone_for_online(id, type);
    const bool had_memory = node_has_memory(b.node);
    b.state = static_cast<uint8_t>(BlockState::Online);  // accounted below as online
    account(id, zone, false, true, out.changes);
    b.zone = static_cast<uint8_t>(zone);
    out.changes.blocks.push_back(id);
    note_tier_change(b.node, had_memory, out);
    out.events.push_back(event("online", id));
    return out;
}

// The checks follow memory_block_offline / offline_pages in the kernel's order: zones and
// holes (EINVAL), isolation of unmovable pages (EBUSY), then the MEM_GOING_OFFLINE
// notifier, then migration, which may take time.
Outcome Machine::offline_block(uint64_t id, Wait wait) {
    Outcome out;
    Block& b = blocks_.at(id);
    const std::string name = "memory" + std::to_string(id);
    if (b.block_state() == BlockState::GoingOffline) {
        out.error = make_error(EBUSY, name + " is going offline");
        return out;
    }
    if (b.multi_zone()) {
        out.error = make_error(EINVAL, name + ": managed by multiple zones");
        return out;
    }
    if (b.holes) {
        out.error = make_error(EINVAL, name + ": memory holes");
        return out;
    }
    if (b.unmovable) {
        out.error = make_error(EBUSY, name + ": unmovable page");
        return out;
    }
    if (int err = notifier_error(NotifierAction::GoingOffline)) {
        out.error = make_error(-err, name + ": MEM_GOING_OFFLINE notifier failed");
        return out;
    }
    if (const int64_t ms = block_fault(id).migration_ms; ms != 0) {
        if (wait == Wait::Refuse) {
            // A removal offlines without waiting for migration.
            out.error = make_error(EBUSY, name + ": migration would take time");
            return out;
        }
        // Migration runs: the block reads going-offline until the caller finishes or
        // aborts; its pages stay accounted as online until then, as in the kernel.
        b.state = static_cast<uint8_t>(BlockState::GoingOffline);
        out.changes.blocks.push_back(id);
        out.pending_offline_ms = ms;
        out.pending_block = id;
        return out;
    }
    complete_offline(id, out);
    return out;
}

void Machine::complete_offline(uint64_t id, Outcome& out) {
    Block& b = blocks_.at(id);
    const Zone zone = *b.single_zone();
    const bool had_memory = node_has_memory(b.node);
    b.state = static_cast<uint8_t>(BlockState::Offline);
    account(id, zone, false, false, out.changes);
    b.zone = Block::kNoZone;
    out.changes.blocks.push_back(id);
    note_tier_change(b.node, had_memory, out);
    out.events.push_back(event("offline", id));
}

Outcome Machine::finish_offline(uint64_t id) {
    Outcome out;
    if (!blocks_.present(id) || blocks_.at(id).block_state() != BlockState::GoingOffline) {
        out.error = make_error(EINVAL, "memory" + std::to_string(id) + " is not going offline");
        return out;
    }
    complete_offline(id, out);
    return out;
}

Outcome Machine::abort_offline(uint64_t id) {
    Outcome out;
    if (!blocks_.present(id) || blocks_.at(id).block_state() != BlockState::GoingOffline) {
        out.error = make_error(EINVAL, "memory" + std::to_string(id) + " is not going offline");
        return out;
    }
    // MEM_CANCEL_OFFLINE: back to online in its zone; the kernel emits no uevent for it.
    blocks_.at(id).state = static_cast<uint8_t>(BlockState::Online);
    out.changes.blocks.push_back(id);
    return out;
}

Outcome Machine::set_state(uint64_t id, OnlineType type) {
    Outcome out;
    if (!blocks_.present(id)) {
        out.error = make_error(ENODEV, "no memory block " + std::to_string(id));
        return out;
    }
    const Block& b = blocks_.at(id);
    if (b.block_state() == BlockState::GoingOffline) {
        out.error = make_error(EBUSY, "memory" + std::to_string(id) + " is going offline");
        return out;
    }
    const bool want_online = type != OnlineType::Offline;
    if (want_online == b.online()) {
        out.error = make_error(EINVAL, "memory" + std::to_string(id) + " is already " +
                                           std::string(block_state_name(b.block_state())));
        return out;
    }
    return want_online ? online_block(id, type) : offline_block(id, Wait::Pending);
}

Outcome Machine::set_online(uint64_t id, bool online) {
    Outcome out;
    if (!blocks_.present(id)) {
        out.error = make_error(ENODEV, "no memory block " + std::to_string(id));
        return out;
    }
    if (blocks_.at(id).block_state() == BlockState::GoingOffline) {
        out.error = make_error(EBUSY, "memory" + std::to_string(id) + " is going offline");
        return out;
    }
    if (online == blocks_.at(id).online()) return out;
    return online ? online_block(id, OnlineType::Online) : offline_block(id, Wait::Pending);
}

}  // namespace hotplug
