// Files of the memory tiers (mm/memory-tiers.c): devices/virtual/memory_tiering/memory_tierN,
// bus/memory_tiering and kernel/mm/numa.
#include "attributes.h"
#include "fsmodel/text.h"

namespace fsmodel::attrs {

int tier_nodelist(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, format_list(m.tier_nodes(c.tier)));
}

Outcome tier_uevent_store(Machine& m, const Ctx& c, std::string_view s) {
    return synth_uevent(m, Machine::tier_devpath(c.tier), s, "memory_tiering");
}

Outcome tier_drivers_probe_store(Machine& m, const Ctx&, std::string_view s) {
    for (int tier : m.memory_tiers())
        if (sysfs_streq(s, "memory_tier" + std::to_string(tier))) return Outcome{};
    return fail(ENODEV, "no such device");
}

Outcome bus_tiering_uevent_store(Machine& m, const Ctx&, std::string_view s) {
    return synth_uevent(m, "/bus/memory_tiering", s, "bus");
}

// str_true_false, and kstrtobool for a store.
int demotion_enabled_show(const Machine& m, const Ctx&, std::string& out) {
    return text(out, m.demotion_enabled() ? "true" : "false");
}
Outcome demotion_enabled_store(Machine& m, const Ctx&, std::string_view s) {
    const auto enabled = kstrtobool(s);
    if (!enabled) return fail(EINVAL, "not a boolean");
    return m.set_demotion_enabled(*enabled);
}

}  // namespace fsmodel::attrs
