// Machine::snapshot and Machine::restore: the mutable state out as plain data and back in.
//
// Restore starts from the machine the spec builds, so everything the spec fixes is what a
// fresh start has, replaces the block table, device and fault state with the snapshot's and
// then recomputes what follows from the blocks (zone spans and counters) with the same
// accounting operations use. A zone span is always the hull of its online pages (it grows by
// min/max and shrinks only at its ends, to the next online block), so replaying the online
// blocks in any order yields the span the saved machine had.
#include <algorithm>
#include <cstring>
#include <string>

#include "hotplug/machine.h"

namespace hotplug {
namespace {

std::string path(const std::string& array, size_t index, const char* member = nullptr) {
    std::string out = "/" + array + "/" + std::to_string(index);
    if (member) out += std::string("/") + member;
    return out;
}

Error invalid(std::string field, std::string reason) {
    Error e = make_error(EINVAL, std::move(reason));
    e.field = std::move(field);
    return e;
}

uint32_t bits(const Block& b) {
    uint32_t v = 0;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

BlockRun run_of(uint64_t id, const Block& b) {
    BlockRun r;
    r.first = id;
    r.count = 1;
    r.node = b.node;
    r.state = b.block_state();
    r.zone = b.online() ? b.single_zone() : std::nullopt;
    r.multi_zone = b.online() && b.multi_zone();
    r.holes = b.holes;
    r.unmovable = b.unmovable;
    r.hotplugged = b.hotplugged;
    r.memmap = b.memmap;
    return r;
}

// Block ids where memory may be present: the spec's memory and pluggable ranges, merged.
std::vector<std::pair<uint64_t, uint64_t>> allowed_blocks(const MachineSpec& spec) {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [first, end)
    auto add = [&](uint64_t start, uint64_t size) {
        ranges.emplace_back(start / spec.block_size, (start + size) / spec.block_size);
    };
    for (const auto& r : spec.memory) add(r.start, r.size);
    for (const auto& r : spec.pluggable) add(r.start, r.size);
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;
    for (const auto& r : ranges) {
        if (!merged.empty() && r.first <= merged.back().second)
            merged.back().second = std::max(merged.back().second, r.second);
        else
            merged.push_back(r);
    }
    return merged;
}

// The first id of [first, first + count) outside `allowed`, if any.
std::optional<uint64_t> first_outside(const std::vector<std::pair<uint64_t, uint64_t>>& allowed,
                                      uint64_t first, uint64_t count) {
    for (const auto& [lo, hi] : allowed)
        if (first >= lo && first < hi) return first + count <= hi ? std::nullopt
                                                                  : std::optional<uint64_t>(hi);
    return first;
}

template <class Enum>
bool in_range(Enum value, Enum last) {
    return static_cast<unsigned>(value) <= static_cast<unsigned>(last);
}

}  // namespace

MachineSnapshot Machine::snapshot() const {
    MachineSnapshot s;
    s.arch = arch_;
    s.block_size = block_size_;
    s.nodes = nodes_.size();
    s.seqnum = seqnum_;
    s.params = params_;
    // Two blocks read the same exactly when their four bytes are equal (an offline block's
    // zone is always kNoZone), which keeps this scan cheap at a million blocks.
    bool in_run = false;
    uint32_t run_bits = 0;
    for (uint64_t id = 0; id < blocks_.capacity(); ++id) {
        const Block& b = blocks_.at(id);
        if (!b.present) {
            in_run = false;
            continue;
        }
        const uint32_t v = bits(b);
        if (in_run && v == run_bits) {
            ++s.blocks.back().count;
            continue;
        }
        s.blocks.push_back(run_of(id, b));
        in_run = true;
        run_bits = v;
    }
    for (const auto& d : devices_)
        s.devices.push_back(DeviceSnapshot{
            d.spec.name, d.plugged, d.added ? std::optional<DeviceSpec>(d.spec) : std::nullopt});
    s.faults.going_online_error = notifier_errors_[0];
    s.faults.going_offline_error = notifier_errors_[1];
    s.faults.notifier_priority = notifier_priority_;
    for (const auto& [block, fault] : faults_)
        if (fault.migration_ms != 0) s.faults.migration.push_back({block, fault.migration_ms});
    s.faults.poisoned_pfns.assign(poisoned_pfns_.begin(), poisoned_pfns_.end());
    s.faults.soft_offlined = soft_offlined_;
    s.demotion_enabled = demotion_enabled_;
    return s;
}

// Checks a snapshot against the machine its spec built, then moves that machine into the
// snapshot's state. Each check fails at the field that is wrong.
class SnapshotRestorer {
public:
    SnapshotRestorer(Machine& m, const MachineSpec& spec, const MachineSnapshot& snap)
        : m_(m), spec_(spec), snap_(snap) {}

    std::optional<Error> run() {
        if (auto e = check_identity()) return e;
        if (auto e = check_params()) return e;
        if (auto e = check_devices()) return e;
        if (auto e = load_blocks()) return e;
        if (auto e = check_device_blocks()) return e;
        if (auto e = load_faults()) return e;
        account_online_blocks();
        apply_params();
        m_.demotion_enabled_ = snap_.demotion_enabled;
        m_.seqnum_ = snap_.seqnum;
        return std::nullopt;
    }

private:
    std::optional<Error> check_identity() const;
    std::optional<Error> check_params() const;
    std::optional<Error> check_devices();
    std::optional<Error> check_run(size_t i, uint64_t next_free) const;
    std::optional<Error> load_blocks();
    std::optional<Error> check_device_blocks() const;
    std::optional<Error> load_faults();
    void account_online_blocks();
    void apply_params();

    Machine& m_;
    const MachineSpec& spec_;
    const MachineSnapshot& snap_;
};

std::optional<Error> SnapshotRestorer::check_identity() const {
    if (snap_.arch != spec_.arch)
        return invalid("/arch", "the state is of an " + std::string(arch_name(snap_.arch)) +
                                    " machine, the configuration describes " +
                                    std::string(arch_name(spec_.arch)));
    if (snap_.block_size != spec_.block_size)
        return invalid("/block_size", "the state has blocks of " +
                                          std::to_string(snap_.block_size) +
                                          " bytes, the configuration " +
                                          std::to_string(spec_.block_size));
    if (snap_.nodes != spec_.nodes.size())
        return invalid("/nodes", "the state has " + std::to_string(snap_.nodes) +
                                     " nodes, the configuration " +
                                     std::to_string(spec_.nodes.size()));
    return std::nullopt;
}

std::optional<Error> SnapshotRestorer::check_params() const {
    for (const ParamSpec& param : param_table()) {
        const std::string field = std::string("/params/").append(param.name);
        const ParamValue value = param.get(snap_.params);
        if (param.runtime) {
            if (param.kind == ParamKind::Word && (!value || *value >= param.words.size()))
                return invalid(field, std::string("not an ").append(param.what));
        } else if (value != param.get(m_.params_)) {
            // No writable file: it is the configuration's, and a state of a machine
            // configured otherwise is not this machine's.
            return invalid(field,
                           "differs from the configuration, which fixes it (the state belongs to "
                           "another configuration)");
        }
    }
    return std::nullopt;
}

// The spec's devices come first, as configured; devices added at runtime follow and are
// added here, so that later checks see every device.
std::optional<Error> SnapshotRestorer::check_devices() {
    const size_t configured = m_.devices_.size();
    if (snap_.devices.size() < configured)
        return invalid("/devices", "the state has " + std::to_string(snap_.devices.size()) +
                                       " devices, the configuration " + std::to_string(configured));
    for (size_t i = 0; i < snap_.devices.size(); ++i) {
        const DeviceSnapshot& d = snap_.devices[i];
        if (i >= configured) {
            if (!d.added)
                return invalid(path("devices", i, "name"),
                               "\"" + d.name + "\" is not configured and was not added at runtime");
            DeviceSpec spec = *d.added;
            spec.name = d.name;
            spec.plugged = 0;
            if (auto e = m_.check_device(spec)) {
                Error err = std::move(*e);
                err.field = path("devices", i);
                return err;
            }
            m_.devices_.push_back(Device{spec, 0, 0, 0, true});
        }
        const DeviceSpec& s = m_.devices_[i].spec;
        if (i < configured && d.added)
            return invalid(path("devices", i, "added"),
                           "\"" + d.name + "\" is a configured device, not one added at runtime");
        if (d.name != s.name)
            return invalid(path("devices", i, "name"),
                           "\"" + d.name + "\" where the configuration has \"" + s.name + "\"");
        const bool ok = s.kind == DeviceKind::Dimm
                            ? d.plugged == 0 || d.plugged == s.size
                            : d.plugged % s.unit == 0 && d.plugged <= s.size;
        if (!ok)
            return invalid(path("devices", i, "plugged"),
                           std::to_string(d.plugged) + " bytes cannot be plugged into " + s.name +
                               (s.kind == DeviceKind::Dimm
                                    ? " (a DIMM: 0 or its size)"
                                    : " (a multiple of its unit, at most its size)"));
    }
    return std::nullopt;
}

std::optional<Error> SnapshotRestorer::check_run(size_t i, uint64_t next_free) const {
    const BlockRun& r = snap_.blocks[i];
    if (r.count == 0) return invalid(path("blocks", i, "count"), "a run has at least one block");
    if (r.first < next_free)
        return invalid(path("blocks", i, "first"),
                       "block " + std::to_string(r.first) +
                           " overlaps or comes before the previous run (runs ascend)");
    if (r.first + r.count < r.first || r.first + r.count > UINT64_MAX / m_.block_size_)
        return invalid(path("blocks", i, "count"), "the run ends beyond the address space");
    if (r.node < 0 || r.node >= static_cast<int>(m_.nodes_.size()))
        return invalid(path("blocks", i, "node"),
                       "node " + std::to_string(r.node) + " does not exist");
    if (!in_range(r.state, BlockState::GoingOffline))
        return invalid(path("blocks", i, "state"), "not a block state");
    const bool online = r.state != BlockState::Offline;
    if (r.zone && !in_range(*r.zone, Zone::Movable))
        return invalid(path("blocks", i, "zone"), "not a zone");
    if (online && r.zone.has_value() == r.multi_zone)
        return invalid(path("blocks", i, "zone"), "an online block is in one zone or \"none\"");
    if (!online && (r.zone || r.multi_zone))
        return invalid(path("blocks", i, "zone"), "an offline block has no zone");
    return std::nullopt;
}

std::optional<Error> SnapshotRestorer::load_blocks() {
    const auto allowed = allowed_blocks(spec_);
    BlockTable table;
    uint64_t next_free = 0;
    for (size_t i = 0; i < snap_.blocks.size(); ++i) {
        if (auto e = check_run(i, next_free)) return e;
        const BlockRun& r = snap_.blocks[i];
        if (auto out = first_outside(allowed, r.first, r.count))
            return invalid(path("blocks", i),
                           "block " + std::to_string(*out) +
                               " lies outside the configured memory and pluggable ranges");
        next_free = r.first + r.count;
        for (uint64_t id = r.first; id < next_free; ++id) {
            Block& b = table.ensure(id);
            b.present = 1;
            b.node = static_cast<uint16_t>(r.node);
            b.state = static_cast<uint8_t>(r.state);
            b.zone = r.multi_zone ? Block::kMultiZone
                     : r.zone     ? static_cast<uint8_t>(*r.zone)
                                  : Block::kNoZone;
            b.holes = r.holes;
            b.unmovable = r.unmovable;
            b.hotplugged = r.hotplugged;
            b.memmap = r.memmap;
            table.note_added();
        }
    }
    m_.blocks_ = std::move(table);
    return std::nullopt;
}

// A device's plugged part is present (on the device's node) and the rest absent, as plugs
// and unplugs leave it.
std::optional<Error> SnapshotRestorer::check_device_blocks() const {
    const uint64_t bs = m_.block_size_;
    for (size_t i = 0; i < m_.devices_.size(); ++i) {
        const DeviceSpec& s = m_.devices_[i].spec;
        const uint64_t first = s.start / bs, plugged_end = first + snap_.devices[i].plugged / bs;
        for (uint64_t id = first; id < first + s.size / bs; ++id) {
            const bool present = m_.blocks_.present(id);
            std::string why;
            if (id < plugged_end && !present) why = " is absent";
            else if (id >= plugged_end && present) why = " is present";
            else if (present && m_.blocks_.at(id).node != s.node)
                why = " is not on the device's node " + std::to_string(s.node);
            if (!why.empty())
                return invalid(path("devices", i, "plugged"),
                               std::to_string(snap_.devices[i].plugged) + " bytes plugged into " +
                                   s.name + ", but block " + std::to_string(id) + why);
        }
    }
    return std::nullopt;
}

std::optional<Error> SnapshotRestorer::load_faults() {
    const FaultsSnapshot& f = snap_.faults;
    auto errno_ok = [](int v) { return v <= 0 && v >= -4095; };
    if (!errno_ok(f.going_online_error))
        return invalid("/faults/going_online_error", "must be 0 or -4095..-1");
    if (!errno_ok(f.going_offline_error))
        return invalid("/faults/going_offline_error", "must be 0 or -4095..-1");
    std::map<uint64_t, BlockFault> faults;
    for (size_t i = 0; i < f.migration.size(); ++i) {
        const MigrationDelay& d = f.migration[i];
        if (!m_.blocks_.present(d.block) || faults.count(d.block))
            return invalid(path("faults/migration", i, "block"),
                           "block " + std::to_string(d.block) + " is not present or is repeated");
        if (d.ms < -1 || d.ms == 0)
            return invalid(path("faults/migration", i, "ms"), "must be -1 (forever) or > 0");
        faults[d.block].migration_ms = d.ms;
    }
    std::set<uint64_t> poisoned;
    for (size_t i = 0; i < f.poisoned_pfns.size(); ++i) {
        const uint64_t pfn = f.poisoned_pfns[i];
        const uint64_t block = pfn / m_.pages_per_block();
        if (!m_.blocks_.present(block) || !poisoned.insert(pfn).second)
            return invalid(path("faults/poisoned_pfns", i),
                           "page " + std::to_string(pfn) + " is not in a present block or is "
                           "repeated");
        ++faults[block].poisoned_pages;
    }
    m_.faults_ = std::move(faults);
    m_.poisoned_pfns_ = std::move(poisoned);
    m_.notifier_errors_[0] = f.going_online_error;
    m_.notifier_errors_[1] = f.going_offline_error;
    m_.notifier_priority_ = f.notifier_priority;
    m_.soft_offlined_ = f.soft_offlined;
    return std::nullopt;
}

// Zone spans, present, early and memmap pages and the memory groups' counters, from scratch.
// Going-offline blocks still count as online, as they do while their migration runs.
void SnapshotRestorer::account_online_blocks() {
    for (auto& node : m_.nodes_) {
        node.zones = {};
        node.early_kernel_pages = 0;
        node.memmap_pages = 0;
    }
    for (size_t i = 0; i < m_.devices_.size(); ++i) {
        m_.devices_[i].plugged = snap_.devices[i].plugged;
        m_.devices_[i].present_kernel_pages = m_.devices_[i].present_movable_pages = 0;
    }
    // What accounting reports as changed is of no use here; one scratch set, emptied after
    // each block, spares a million allocations.
    ChangeSet scratch;
    for (const BlockRun& r : snap_.blocks) {
        if (r.state == BlockState::Offline) continue;
        for (uint64_t id = r.first; id < r.first + r.count; ++id) {
            if (r.multi_zone) {
                for (int z = 0; z < static_cast<int>(Zone::Movable); ++z)
                    m_.account(id, static_cast<Zone>(z), true, true, scratch);
            } else {
                m_.account(id, *r.zone, false, true, scratch);
            }
            scratch.nodes.clear();
            scratch.valid_zones.clear();
        }
    }
}

void SnapshotRestorer::apply_params() {
    for (const ParamSpec& param : param_table())
        if (param.runtime) param.set(m_.params_, param.get(snap_.params));
}

Result<Machine> Machine::restore(const MachineSpec& spec, const MachineSnapshot& snap) {
    auto built = build(spec);
    if (!built) return built.error();
    SnapshotRestorer restorer(*built, spec, snap);
    if (auto e = restorer.run()) return *e;
    return std::move(built.value());
}

}  // namespace hotplug
