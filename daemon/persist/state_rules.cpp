// The state file's own rules (state_rules.h), checked on the decoded snapshot. Every failure
// names the value by its JSON Pointer, as the configuration loader does.
#include "persist/state_rules.h"

#include <string>

#include "config/config_sections.h"
#include "config/config_values.h"

namespace hotplugfs::persist {
namespace {

using config::detail::hex;
using config::detail::Invalid;
using config::detail::Json;
using config::detail::Value;

std::string block_path(size_t run, const char* member) {
    return std::string("/blocks/") + std::to_string(run) + "/" + member;
}

void check_counter(uint64_t value, const char* pointer) {
    if (value > kMaxCounter)
        throw Invalid{pointer, std::to_string(value) + " is out of range (at most 2^63-1 = " +
                                   std::to_string(kMaxCounter) +
                                   ", so that the counter never wraps around)"};
}

// "block 7" or "blocks 7..9", with their physical addresses.
std::string blocks_text(const hotplug::BlockRun& run, uint64_t start, uint64_t end) {
    std::string text = run.count == 1 ? std::string("block ") + std::to_string(run.first)
                                      : std::string("blocks ") + std::to_string(run.first) + ".." +
                                            std::to_string(run.first + run.count - 1);
    return text + " [" + hex(start) + ", " + hex(end) + ")";
}

void check_zone(const hotplug::MachineSnapshot& state, size_t i) {
    const hotplug::BlockRun& run = state.blocks[i];
    if (run.multi_zone && run.hotplugged)
        throw Invalid{block_path(i, "zone"),
                      "\"none\" (managed by several zones) is only for boot memory; hot-added "
                      "blocks are onlined into one zone"};
    if (!run.zone) return;
    const uint64_t end_block = run.first + run.count;
    // Empty runs and runs beyond the address space are Machine::restore's to refuse.
    if (run.count == 0 || end_block < run.first || end_block > UINT64_MAX / state.block_size)
        return;
    const uint64_t start = run.first * state.block_size, end = end_block * state.block_size;
    const std::string zone(hotplug::zone_name(*run.zone));
    const std::string arch(hotplug::arch_name(state.arch));
    switch (hotplug::zone_fit(state.arch, *run.zone, end)) {
        case hotplug::ZoneFit::Fits:
            return;
        case hotplug::ZoneFit::NoSuchZone:
            throw Invalid{block_path(i, "zone"), arch + " has no " + zone + " zone"};
        case hotplug::ZoneFit::AboveLimit:
            throw Invalid{block_path(i, "zone"),
                          blocks_text(run, start, end) + (run.count == 1 ? " reaches" : " reach") +
                              " above the " + zone + " limit " +
                              hex(hotplug::arch_zone_limit(state.arch, *run.zone)) + " of " + arch};
    }
}

}  // namespace

void check_state_rules(const hotplug::MachineSnapshot& state) {
    const Json block_size = state.block_size;
    config::detail::parse_block_size(Value(block_size, "/block_size"), state.arch);
    check_counter(state.seqnum, "/seqnum");
    check_counter(state.faults.soft_offlined, "/faults/soft_offlined");
    for (size_t i = 0; i < state.blocks.size(); ++i) {
        if (state.blocks[i].state == hotplug::BlockState::GoingOffline)
            throw Invalid{block_path(i, "state"),
                          "going-offline is a transient state, which a state file never keeps "
                          "(an offline still migrating has not completed: its blocks are "
                          "\"online\")"};
        check_zone(state, i);
    }
}

hotplug::MachineSnapshot at_rest(hotplug::MachineSnapshot snapshot) {
    for (hotplug::BlockRun& run : snapshot.blocks)
        if (run.state == hotplug::BlockState::GoingOffline) run.state = hotplug::BlockState::Online;
    return snapshot;
}

}  // namespace hotplugfs::persist
