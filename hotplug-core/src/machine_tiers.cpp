// Memory tiers as mm/memory-tiers.c keeps them: each node's memory has an abstract distance,
// a tier holds the nodes whose distance falls in its chunk, and the memory hotplug notifier
// puts a node on its tier when it gains memory and takes it off when it loses the last of it
// (a tier left without nodes is destroyed).
#include <algorithm>

#include "hotplug/machine.h"

namespace hotplug {

int Machine::node_adistance(int node) const {
    return nodes_[node].spec.adistance.value_or(kMemtierAdistanceDram);
}

int Machine::node_memory_tier(int node) const {
    return node_adistance(node) >> kMemtierChunkBits;
}

std::vector<int> Machine::possible_memory_tiers() const {
    std::vector<int> out;
    for (const auto& n : nodes_) out.push_back(node_memory_tier(n.spec.id));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<int> Machine::memory_tiers() const {
    std::vector<int> out;
    for (const auto& n : nodes_)
        if (node_has_memory(n.spec.id)) out.push_back(node_memory_tier(n.spec.id));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<int> Machine::tier_nodes(int tier) const {
    std::vector<int> out;
    for (const auto& n : nodes_)
        if (node_has_memory(n.spec.id) && node_memory_tier(n.spec.id) == tier)
            out.push_back(n.spec.id);
    return out;
}

std::string Machine::tier_devpath(int tier) {
    return "/devices/virtual/memory_tiering/memory_tier" + std::to_string(tier);
}

void Machine::note_tier_change(int node, bool had_memory, Outcome& out) {
    if (had_memory == node_has_memory(node)) return;
    const int tier = node_memory_tier(node);
    const size_t left = tier_nodes(tier).size();
    if (had_memory ? left != 0 : left != 1) return;  // the tier had, or keeps, other nodes
    out.events.push_back(
        Uevent{had_memory ? "remove" : "add", tier_devpath(tier), "memory_tiering", ++seqnum_, {}});
}

Outcome Machine::set_demotion_enabled(bool enabled) {
    Outcome out;
    if (demotion_enabled_ != enabled) out.changes.params = true;
    demotion_enabled_ = enabled;
    return out;
}

}  // namespace hotplug
