// Adding and removing memory, module parameters and synthetic uevents.
#include <climits>
#include <string>

#include "hotplug/machine.h"

namespace hotplug {

int Machine::node_for_address(uint64_t addr) const {
    for (const auto& r : pluggable_)
        if (addr >= r.start && addr - r.start < r.size) return r.node;
    return 0;
}

bool Machine::range_in_pluggable(uint64_t start, uint64_t size) const {
    for (const auto& r : pluggable_)
        // Written so that a range near the top of the address space cannot wrap around.
        if (start >= r.start && size <= r.size && start - r.start <= r.size - size) return true;
    return false;
}

Outcome Machine::add_blocks(uint64_t first, uint64_t count, int node, bool hotplugged,
                            bool memmap, Outcome out) {
    for (uint64_t id = first; id < first + count; ++id) {
        Block& b = blocks_.ensure(id);
        b = Block{};
        b.present = 1;
        b.node = static_cast<uint16_t>(node);
        b.hotplugged = hotplugged ? 1 : 0;
        b.memmap = memmap ? 1 : 0;
        blocks_.note_added();
        out.changes.added.push_back(id);
        out.events.push_back(event("add", id));
    }
    if (params_.auto_online_blocks == OnlineType::Offline) return out;
    for (uint64_t id = first; id < first + count; ++id) {
        // A failed auto-online leaves the block offline; the add itself still succeeds.
        Outcome step = online_block(id, params_.auto_online_blocks);
        if (!step.ok()) continue;
        out.changes.merge(step.changes);
        for (auto& e : step.events) out.events.push_back(std::move(e));
    }
    return out;
}

Outcome Machine::add_memory(uint64_t start, uint64_t size, int node) {
    return add_range(start, size, node, wants_memmap());
}

Outcome Machine::add_range(uint64_t start, uint64_t size, int node, bool memmap) {
    Outcome out;
    if (size == 0 || start % block_size_ || size % block_size_) {
        out.error = make_error(EINVAL, "range is not aligned to the memory block size");
        return out;
    }
    if (node < 0 || node >= static_cast<int>(nodes_.size())) {
        out.error = make_error(EINVAL, "node " + std::to_string(node) + " does not exist");
        return out;
    }
    const uint64_t first = start / block_size_, count = size / block_size_;
    // Look up the first present block instead of walking every id: `size` may be huge.
    if (auto id = blocks_.next_present(first); id && *id - first < count) {
        out.error = make_error(EEXIST, "System RAM resource overlaps present memory");
        return out;
    }
    if (!range_in_pluggable(start, size)) {
        out.error = make_error(E2BIG, "range is outside the pluggable physical address space");
        return out;
    }
    // A device's range is its resource, plugged or not: a conflicting resource is EEXIST.
    if (const Device* d = device_overlapping(start, size)) {
        out.error = make_error(EEXIST, "range belongs to memory device " + d->spec.name);
        return out;
    }
    return add_blocks(first, count, node, true, memmap, std::move(out));
}

Outcome Machine::probe(uint64_t addr) {
    Outcome out;
    if (!params_.probe) {
        out.error = make_error(EPERM, "probe is not enabled");
        return out;
    }
    if (addr % block_size_) {
        out.error = make_error(EINVAL, "address is not aligned to the memory block size");
        return out;
    }
    // Never with its memmap on the block: probe_store adds with MHP_NONE.
    return add_range(addr, block_size_, node_for_address(addr), false);
}

bool Machine::offline_for_removal(uint64_t first, uint64_t count, Rollback rollback,
                                  Outcome& out) {
    std::vector<std::pair<uint64_t, Zone>> offlined;
    for (uint64_t id = first; id < first + count; ++id) {
        if (!blocks_.at(id).online()) continue;
        const auto zone = blocks_.at(id).single_zone();
        Outcome step = offline_block(id, Wait::Refuse);
        out.changes.merge(step.changes);
        for (auto& e : step.events) out.events.push_back(std::move(e));
        if (step.ok()) {
            offlined.emplace_back(id, zone.value_or(Zone::Normal));
            continue;
        }
        out.error = step.error;
        for (auto [back, was] : offlined) {
            const OnlineType type =
                rollback == Rollback::DefaultType ? OnlineType::Online
                : was == Zone::Movable            ? OnlineType::OnlineMovable
                                                  : OnlineType::OnlineKernel;
            // A rollback that cannot online (injected error, poison) leaves the block
            // offline; the kernel ignores that too.
            Outcome undo = online_block(back, type);
            out.changes.merge(undo.changes);
            for (auto& e : undo.events) out.events.push_back(std::move(e));
        }
        return false;
    }
    return true;
}

void Machine::remove_blocks(uint64_t first, uint64_t count, Outcome& out) {
    for (uint64_t id = first; id < first + count; ++id) {
        out.events.push_back(event("remove", id));
        out.changes.removed.push_back(RemovedBlock{id, blocks_.at(id).node});
        // A removed memory block takes its state along: poison counts, delays, flags.
        const uint64_t first_pfn = id * pages_per_block();
        poisoned_pfns_.erase(poisoned_pfns_.lower_bound(first_pfn),
                             poisoned_pfns_.lower_bound(first_pfn + pages_per_block()));
        faults_.erase(id);
        blocks_.remove(id);
    }
}

Outcome Machine::remove_memory(uint64_t start, uint64_t size) {
    Outcome out;
    if (size == 0 || start % block_size_ || size % block_size_) {
        out.error = make_error(EINVAL, "range is not aligned to the memory block size");
        return out;
    }
    const uint64_t first = start / block_size_, count = size / block_size_;
    for (uint64_t id = first; id < first + count; ++id) {
        if (!blocks_.present(id)) {
            out.error = make_error(EINVAL, "memory" + std::to_string(id) + " is not present");
            return out;
        }
    }
    if (const Device* d = device_overlapping(start, size)) {
        out.error = make_error(EBUSY, "memory belongs to device " + d->spec.name +
                                          "; unplug or resize the device instead");
        return out;
    }
    // Offline what is online; on failure online again what this removal offlined (ACPI's
    // rollback uses the default online type).
    if (!offline_for_removal(first, count, Rollback::DefaultType, out)) return out;
    remove_blocks(first, count, out);
    return out;
}

Outcome Machine::set_param(const ParamSpec& param, ParamValue value) {
    const bool fits = value && (param.kind == ParamKind::Word   ? *value < param.words.size()
                                : param.kind == ParamKind::Uint ? *value <= UINT_MAX
                                                                : *value <= 1);
    Outcome out;
    if (!param.runtime || !fits) {
        out.error = make_error(EINVAL, "invalid value for a parameter");
        return out;
    }
    param.set(params_, value);
    out.changes.params = true;
    out.changes.all_valid_zones =
        param.zones == ZonesEffect::Always ||
        (param.zones == ZonesEffect::UnderAutoMovable &&
         params_.online_policy == OnlinePolicy::AutoMovable);
    return out;
}

Outcome Machine::set_auto_online_blocks(OnlineType type) {
    return set_param(*find_param("auto_online_blocks"), static_cast<uint64_t>(type));
}
Outcome Machine::set_online_policy(OnlinePolicy policy) {
    return set_param(*find_param("online_policy"), static_cast<uint64_t>(policy));
}
Outcome Machine::set_auto_movable_ratio(unsigned ratio) {
    return set_param(*find_param("auto_movable_ratio"), ratio);
}
Outcome Machine::set_auto_movable_numa_aware(bool aware) {
    return set_param(*find_param("auto_movable_numa_aware"), aware ? 1 : 0);
}

Outcome Machine::synthetic_uevent(std::string devpath, std::string action,
                                  std::vector<std::pair<std::string, std::string>> synth) {
    Outcome out;
    out.events.push_back(Uevent{std::move(action), std::move(devpath), "memory", ++seqnum_,
                                std::move(synth)});
    return out;
}

}  // namespace hotplug
