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

Zone Machine::auto_movable_zone(int node, uint64_t start_pfn, uint64_t nr_pages) const {
    const Zone kernel = default_kernel_zone(node, start_pfn, nr_pages);
    if (params_.auto_movable_ratio == 0) return kernel;
    // Online MOVABLE only if all of it could go MOVABLE within the ratio, system-wide and,
    // when NUMA-aware, on the node.
    auto fits = [&](int only_node) {
        uint64_t kernel_early = 0, movable = 0;
        for (const auto& n : nodes_) {
            if (only_node >= 0 && n.spec.id != only_node) continue;
            kernel_early += n.early_kernel_pages;
            movable += n.zones[static_cast<int>(Zone::Movable)].present_pages;
        }
        movable += nr_pages;
        return movable <= (uint64_t{params_.auto_movable_ratio} * kernel_early) / 100;
    };
    if (!fits(-1)) return kernel;
    if (params_.auto_movable_numa_aware && !fits(node)) return kernel;
    return Zone::Movable;
}

Zone Machine::choose_zone(int node, uint64_t start_pfn, uint64_t nr_pages,
                          OnlineType type) const {
    if (type == OnlineType::OnlineKernel) return default_kernel_zone(node, start_pfn, nr_pages);
    if (type == OnlineType::OnlineMovable) return Zone::Movable;
    if (params_.online_policy == OnlinePolicy::AutoMovable)
        return auto_movable_zone(node, start_pfn, nr_pages);
    // contig-zones: keep zones contiguous; fall back to movable_node's preference.
    const Zone kernel = default_kernel_zone(node, start_pfn, nr_pages);
    const auto& zones = nodes_[node].zones;
    const uint64_t end = start_pfn + nr_pages;
    const bool in_kernel = zones[static_cast<int>(kernel)].intersects(start_pfn, end);
    const bool in_movable = zones[static_cast<int>(Zone::Movable)].intersects(start_pfn, end);
    if (in_kernel != in_movable) return in_kernel ? kernel : Zone::Movable;
    return params_.movable_node ? Zone::Movable : kernel;
}

Zone Machine::zone_for_online(uint64_t block, OnlineType type) const {
    const Block& b = blocks_.at(block);
    const uint64_t ppb = pages_per_block();
    return choose_zone(b.node, block * ppb, ppb, type);
}

std::string Machine::valid_zones(uint64_t block) const {
    const Block& b = blocks_.at(block);
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
    if (online) {
        span.present_pages += pages;
        if (early) node.early_kernel_pages += pages;
        grow_span(node, zone, s, e, changes);
    } else {
        span.present_pages -= pages;
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
    const Zone zone = zone_for_online(id, type);
    b.state = static_cast<uint8_t>(BlockState::Online);  // accounted below as online
    account(id, zone, false, true, out.changes);
    b.zone = static_cast<uint8_t>(zone);
    out.changes.blocks.push_back(id);
    out.events.push_back(event("online", id));
    return out;
}

Outcome Machine::offline_block(uint64_t id) {
    Outcome out;
    Block& b = blocks_.at(id);
    const std::string name = "memory" + std::to_string(id);
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
    const Zone zone = *b.single_zone();
    b.state = static_cast<uint8_t>(BlockState::Offline);
    account(id, zone, false, false, out.changes);
    b.zone = Block::kNoZone;
    out.changes.blocks.push_back(id);
    out.events.push_back(event("offline", id));
    return out;
}

Outcome Machine::set_state(uint64_t id, OnlineType type) {
    Outcome out;
    if (!blocks_.present(id)) {
        out.error = make_error(ENODEV, "no memory block " + std::to_string(id));
        return out;
    }
    const Block& b = blocks_.at(id);
    const bool want_online = type != OnlineType::Offline;
    if (want_online == b.online()) {
        out.error = make_error(EINVAL, "memory" + std::to_string(id) + " is already " +
                                           std::string(block_state_name(b.block_state())));
        return out;
    }
    return want_online ? online_block(id, type) : offline_block(id);
}

Outcome Machine::set_online(uint64_t id, bool online) {
    if (!blocks_.present(id)) {
        Outcome out;
        out.error = make_error(ENODEV, "no memory block " + std::to_string(id));
        return out;
    }
    if (online == blocks_.at(id).online()) return Outcome{};
    return online ? online_block(id, OnlineType::Online) : offline_block(id);
}

}  // namespace hotplug
