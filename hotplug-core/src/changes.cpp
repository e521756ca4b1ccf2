#include "hotplug/changes.h"

namespace hotplug {

void ChangeSet::merge(const ChangeSet& o) {
    blocks.insert(blocks.end(), o.blocks.begin(), o.blocks.end());
    added.insert(added.end(), o.added.begin(), o.added.end());
    removed.insert(removed.end(), o.removed.begin(), o.removed.end());
    valid_zones.insert(valid_zones.end(), o.valid_zones.begin(), o.valid_zones.end());
    nodes.insert(nodes.end(), o.nodes.begin(), o.nodes.end());
    all_valid_zones = all_valid_zones || o.all_valid_zones;
    node_masks = node_masks || o.node_masks;
    params = params || o.params;
    if (o.devices && !devices) {
        devices = true;
        devices_before = o.devices_before;
    }
}

}  // namespace hotplug
