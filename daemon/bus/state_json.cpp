// GetState: the machine as one JSON document, the way `hotplugctl status` shows it.
#include <nlohmann/json.hpp>

#include "bus/bus_objects.h"
#include "config/config_values.h"
#include "hotplug/machine.h"

namespace hotplugfs::bus {
namespace {

using config::detail::Json;

struct BlockRun {
    uint64_t first = 0, last = 0;
    std::string state, zones;
    int node = 0;
};

Json blocks_json(const hotplug::Machine& m) {
    Json out = Json::array();
    std::optional<BlockRun> run;
    auto flush = [&] {
        if (!run) return;
        out.push_back({{"first", run->first},
                       {"last", run->last},
                       {"state", run->state},
                       {"zones", run->zones},
                       {"node", run->node}});
    };
    for (auto id = m.blocks().next_present(0); id; id = m.blocks().next_present(*id + 1)) {
        const hotplug::Block& b = m.blocks().at(*id);
        BlockRun next{*id, *id, std::string(hotplug::block_state_name(b.block_state())),
                      m.valid_zones(*id), b.node};
        if (run && run->last + 1 == *id && run->state == next.state && run->zones == next.zones &&
            run->node == next.node) {
            run->last = *id;
            continue;
        }
        flush();
        run = std::move(next);
    }
    flush();
    return out;
}

Json devices_json(const hotplug::Machine& m) {
    Json out = Json::array();
    for (const auto& d : m.devices())
        out.push_back({{"name", d.spec.name},
                       {"kind", std::string(hotplug::device_kind_name(d.spec.kind))},
                       {"node", d.spec.node},
                       {"start", d.spec.start},
                       {"size", d.spec.size},
                       {"unit", d.spec.unit},
                       {"plugged", d.plugged},
                       {"added", d.added}});
    return out;
}


}  // namespace

std::string state_json(const Backend& backend) {
    return backend.live.read([](const hotplug::Machine& m, const fsmodel::Tree&) {
        Json nodes = Json::array();
        for (const auto& n : m.nodes()) nodes.push_back({{"id", n.spec.id}, {"cpus", n.spec.cpus}});
        const Json doc = {{"arch", std::string(hotplug::arch_name(m.arch()))},
                          {"block_size", m.block_size()},
                          {"seqnum", m.last_seqnum()},
                          {"blocks", blocks_json(m)},
                          {"nodes", nodes},
                          {"devices", devices_json(m)},
                          {"parameters", config::detail::params_json(m.params())}};
        return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
    });
}

}  // namespace hotplugfs::bus
