// Machine::changes_since: a change set computed by comparing two machines.
#include "hotplug/machine.h"

namespace hotplug {

ChangeSet Machine::changes_since(const Machine& before) const {
    ChangeSet c;
    const BlockTable& old = before.blocks();
    for (auto id = old.next_present(0); id; id = old.next_present(*id + 1)) {
        if (!blocks_.present(*id)) {
            c.removed.push_back({*id, old.at(*id).node});
            continue;
        }
        const Block& was = old.at(*id);
        const Block& is = blocks_.at(*id);
        if (was.state != is.state || was.zone != is.zone || was.node != is.node)
            c.blocks.push_back(*id);
    }
    for (auto id = blocks_.next_present(0); id; id = blocks_.next_present(*id + 1))
        if (!old.present(*id)) c.added.push_back(*id);

    bool same_devices = before.devices().size() == devices_.size();
    for (size_t i = 0; same_devices && i < devices_.size(); ++i)
        same_devices = before.devices()[i].spec.name == devices_[i].spec.name;
    if (!same_devices) {
        c.devices = true;
        for (const Device& d : before.devices()) c.devices_before.push_back(d.spec.name);
    }
    // Derived views: a restore may move any zone span, counter or parameter.
    c.all_valid_zones = true;
    for (const NodeInfo& n : nodes_) c.nodes.push_back(n.spec.id);
    c.node_masks = true;
    c.params = true;
    return c;
}

}  // namespace hotplug
