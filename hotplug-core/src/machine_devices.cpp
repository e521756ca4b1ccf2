// Memory devices (memory groups): DIMMs plugged and unplugged whole, virtio-mem devices
// resized in units, and the memmap_on_memory accounting of the memory they add.
#include <string>

#include "hotplug/machine.h"

namespace hotplug {
namespace {

// [a, a + as) and [b, b + bs) share an address; written so that no end can wrap around.
bool overlaps(uint64_t a, uint64_t as, uint64_t b, uint64_t bs) {
    return a < b ? b - a < as : a - b < bs;
}

}  // namespace

std::string_view device_kind_name(DeviceKind kind) {
    return kind == DeviceKind::Dimm ? "dimm" : "virtio-mem";
}

const Device* Machine::device(const std::string& name) const {
    for (const auto& d : devices_)
        if (d.spec.name == name) return &d;
    return nullptr;
}

Device* Machine::find_device(const std::string& name) {
    for (auto& d : devices_)
        if (d.spec.name == name) return &d;
    return nullptr;
}

// Devices are few (they stand for DIMM slots and virtio-mem devices): a scan is enough.
int Machine::device_index(uint64_t block) const {
    for (size_t i = 0; i < devices_.size(); ++i) {
        const DeviceSpec& s = devices_[i].spec;
        const uint64_t first = s.start / block_size_;
        if (block >= first && block - first < s.size / block_size_) return static_cast<int>(i);
    }
    return -1;
}

const Device* Machine::device_of(uint64_t block) const {
    const int i = device_index(block);
    return i < 0 ? nullptr : &devices_[static_cast<size_t>(i)];
}

const Device* Machine::device_overlapping(uint64_t start, uint64_t size) const {
    for (const auto& d : devices_)
        if (overlaps(start, size, d.spec.start, d.spec.size)) return &d;
    return nullptr;
}

// The struct page array of a block: 64 bytes per 4 KiB page (1/64 of the block). It is
// present (and counted by zones and groups) but not managed. Offlining and removal add no
// rule for such blocks: the kernel gives each block its own altmap, and the model only ever
// removes whole blocks, so accounting is all that differs.
uint64_t Machine::memmap_pages(uint64_t block) const {
    if (!blocks_.present(block) || !blocks_.at(block).memmap) return 0;
    return pages_per_block() * 64 / kPageSize;
}

uint64_t Machine::node_managed_pages(int node) const {
    return node_present_pages(node) - nodes_[node].memmap_pages;
}

std::optional<Error> Machine::check_device(const DeviceSpec& s) const {
    const std::string what = "device \"" + s.name + "\"";
    auto invalid = [](std::string text) { return make_error(EINVAL, std::move(text)); };
    // The name is a directory name in the debug tree.
    if (s.name.empty() || s.name == "." || s.name == ".." ||
        s.name.find_first_of(std::string_view("/\0", 2)) != std::string::npos)
        return invalid(what + ": a device name must be a valid file name");
    if (device(s.name)) return invalid(what + " is defined twice");
    if (s.node < 0 || s.node >= static_cast<int>(nodes_.size()))
        return invalid(what + " names node " + std::to_string(s.node) + ", which does not exist");
    if (s.size == 0 || s.start % block_size_ || s.size % block_size_)
        return invalid(what + " is not a non-empty range aligned to the block size");
    if (s.start + s.size < s.start) return invalid(what + " wraps around the address space");
    if (s.kind == DeviceKind::Dimm) {
        if (s.unit != 0) return invalid(what + " is a DIMM; only virtio-mem devices have a unit");
        if (s.plugged != 0 && s.plugged != s.size)
            return invalid(what + " is a DIMM: plugged must be 0 or its size");
    } else {
        // Units are whole blocks, aligned like the kernel's memory group units.
        if (s.unit == 0 || s.unit % block_size_ || s.start % s.unit || s.size % s.unit)
            return invalid(what +
                           ": unit must be a non-zero multiple of the block size that "
                           "divides start and size");
        if (s.plugged % s.unit || s.plugged > s.size)
            return invalid(what + ": plugged must be a multiple of the unit, at most size");
    }
    if (!range_in_pluggable(s.start, s.size))
        return invalid(what + " does not lie inside one pluggable range");
    if (const Device* other = device_overlapping(s.start, s.size))
        return invalid(what + " overlaps device \"" + other->spec.name + "\"");
    return std::nullopt;
}

bool Machine::range_has_memory(uint64_t start, uint64_t size) const {
    const uint64_t first = start / block_size_;
    const auto id = blocks_.next_present(first);
    return id && *id - first < size / block_size_;
}

// Build-time validation and layout of one device; plugged memory is present and offline,
// like the hot-added memory of spec.memory (auto_online_blocks applies to later adds only).
std::optional<Error> Machine::add_device(const DeviceSpec& s) {
    if (auto e = check_device(s)) return e;
    const uint64_t first = s.start / block_size_;
    if (range_has_memory(s.start, s.size))
        return make_error(EINVAL, "device \"" + s.name + "\" overlaps present memory at block " +
                                      std::to_string(*blocks_.next_present(first)));
    devices_.push_back(Device{s, s.plugged, 0, 0});
    for (uint64_t id = first; id < first + s.plugged / block_size_; ++id) {
        Block& b = blocks_.ensure(id);
        b.present = 1;
        b.node = static_cast<uint16_t>(s.node);
        b.hotplugged = 1;
        b.memmap = wants_memmap() ? 1 : 0;
        blocks_.note_added();
    }
    return std::nullopt;
}

std::string Machine::free_device_name(DeviceKind kind) const {
    const std::string prefix(device_kind_name(kind));
    for (size_t i = 0;; ++i)
        if (!device(prefix + std::to_string(i))) return prefix + std::to_string(i);
}

// First fit, like a VM placing a new DIMM in its device memory region: walk each candidate
// range upward, jumping past devices and present memory, at `align` steps.
std::optional<uint64_t> Machine::free_device_start(int node, uint64_t size, uint64_t align) const {
    auto fit_in = [&](const PluggableRangeSpec& r) -> std::optional<uint64_t> {
        auto align_up = [&](uint64_t a) { return a % align ? a + (align - a % align) : a; };
        for (uint64_t at = align_up(r.start); at >= r.start && at - r.start < r.size;) {
            if (r.size - (at - r.start) < size) return std::nullopt;
            if (const Device* d = device_overlapping(at, size)) {
                at = align_up(d->spec.start + d->spec.size);
                continue;
            }
            if (range_has_memory(at, size)) {
                at = align_up((*blocks_.next_present(at / block_size_) + 1) * block_size_);
                continue;
            }
            return at;
        }
        return std::nullopt;
    };
    for (bool own_node : {true, false})
        for (const auto& r : pluggable_)
            if ((r.node == node) == own_node)
                if (auto at = fit_in(r)) return at;
    return std::nullopt;
}

void Machine::note_device_list(Outcome& out) const {
    if (out.changes.devices) return;
    out.changes.devices = true;
    for (const auto& d : devices_) out.changes.devices_before.push_back(d.spec.name);
}

Outcome Machine::create_device(const NewDevice& n) {
    Outcome out;
    DeviceSpec s;
    s.name = n.name;
    s.kind = n.kind;
    s.node = n.node;
    s.size = n.size;
    const bool virtio = n.kind == DeviceKind::VirtioMem;
    if (virtio) s.unit = n.unit ? n.unit : block_size_;
    const uint64_t plug = virtio ? n.requested.value_or(n.size) : n.size;
    if (!virtio && (n.unit || (n.requested && *n.requested != n.size))) {
        out.error = make_error(EINVAL, "a DIMM plugs whole and has no unit");
        return out;
    }
    if (n.start) {
        s.start = *n.start;
    } else if (s.size && s.size % block_size_ == 0 && (!virtio || s.unit % block_size_ == 0)) {
        auto at = free_device_start(n.node, s.size, virtio ? s.unit : block_size_);
        if (!at) {
            out.error = make_error(ENOSPC, "no free place for " + std::to_string(s.size) +
                                               " bytes in the pluggable ranges");
            return out;
        }
        s.start = *at;
    }
    if (auto e = check_device(s)) {
        out.error = std::move(*e);
        return out;
    }
    if (range_has_memory(s.start, s.size)) {
        out.error = make_error(EINVAL, "device \"" + s.name + "\" overlaps present memory");
        return out;
    }
    if (virtio && (plug % s.unit || plug > s.size)) {
        out.error =
            make_error(EINVAL, "requested size must be a multiple of the unit " +
                                   std::to_string(s.unit) + ", at most " + std::to_string(s.size));
        return out;
    }
    note_device_list(out);
    devices_.push_back(Device{s, 0, 0, 0, true});
    Outcome plugged = virtio ? resize_virtio(devices_.back(), plug) : plug_device(s.name);
    plugged.changes.merge(out.changes);
    plugged.changes.params = true;
    return plugged;
}

Outcome Machine::plug_device(const std::string& name) {
    Outcome out;
    Device* d = find_device(name);
    if (!d) {
        out.error = make_error(ENODEV, "no memory device " + name);
        return out;
    }
    if (d->spec.kind == DeviceKind::VirtioMem) return resize_virtio(*d, d->spec.size);
    if (d->plugged) {
        out.error = make_error(EEXIST, "DIMM " + name + " is already plugged");
        return out;
    }
    // ACPI hot-add: add_memory of the whole DIMM (one static memory group), then auto-online.
    d->plugged = d->spec.size;
    out.changes.params = true;  // the device's own state (plugged) changed
    return add_blocks(d->spec.start / block_size_, d->spec.size / block_size_, d->spec.node, true,
                      wants_memmap(), std::move(out));
}

Outcome Machine::unplug_device(const std::string& name) {
    Outcome out;
    Device* d = find_device(name);
    if (!d) {
        out.error = make_error(ENODEV, "no memory device " + name);
        return out;
    }
    if (d->spec.kind == DeviceKind::VirtioMem) {
        out = resize_virtio(*d, 0);
    } else if (!d->plugged) {
        out.error = make_error(EINVAL, "DIMM " + name + " is not plugged");
        return out;
    } else {
        eject_dimm(*d,
                   out);  // ACPI eject: offline everything (rolling back on failure), then remove
    }
    d = find_device(name);
    if (out.ok() && d->added && d->plugged == 0) {
        note_device_list(out);
        devices_.erase(devices_.begin() + (d - devices_.data()));
    }
    return out;
}

void Machine::eject_dimm(Device& d, Outcome& out) {
    const uint64_t first = d.spec.start / block_size_, count = d.spec.size / block_size_;
    if (!offline_for_removal(first, count, Rollback::DefaultType, out)) return;
    remove_blocks(first, count, out);
    d.plugged = 0;
    out.changes.params = true;
}

Outcome Machine::resize_device(const std::string& name, uint64_t bytes) {
    Outcome out;
    Device* d = find_device(name);
    if (!d) {
        out.error = make_error(ENODEV, "no memory device " + name);
        return out;
    }
    if (d->spec.kind != DeviceKind::VirtioMem) {
        out.error = make_error(EINVAL, name + " is a DIMM: plug or unplug it whole");
        return out;
    }
    return resize_virtio(*d, bytes);
}

// virtio-mem plugs units upward from the device start and unplugs them from the top, so
// the plugged part is always [start, start + plugged).
Outcome Machine::resize_virtio(Device& d, uint64_t bytes) {
    Outcome out;
    const uint64_t unit = d.spec.unit, per_unit = unit / block_size_;
    if (bytes % unit || bytes > d.spec.size) {
        out.error =
            make_error(EINVAL, "size must be a multiple of the unit " + std::to_string(unit) +
                                   ", at most " + std::to_string(d.spec.size));
        return out;
    }
    while (d.plugged < bytes) {
        // Each unit is added (add events) and then auto-onlined, as the driver does.
        const uint64_t first = (d.spec.start + d.plugged) / block_size_;
        d.plugged += unit;
        out.changes.params = true;
        Outcome step = add_blocks(first, per_unit, d.spec.node, true, wants_memmap(), Outcome{});
        out.changes.merge(step.changes);
        for (auto& e : step.events) out.events.push_back(std::move(e));
    }
    while (d.plugged > bytes) {
        // offline_and_remove_memory per unit: a unit that cannot go offline comes back in
        // the zones it had, and the resize stops there, keeping what it already unplugged.
        const uint64_t first = (d.spec.start + d.plugged - unit) / block_size_;
        if (!offline_for_removal(first, per_unit, Rollback::SameZone, out)) return out;
        remove_blocks(first, per_unit, out);
        d.plugged -= unit;
        out.changes.params = true;
    }
    return out;
}

}  // namespace hotplug
