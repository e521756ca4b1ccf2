#include "hotplug/param_table.h"

#include "hotplug/types.h"

namespace hotplug {
namespace {

template <class E>
ParamValue as_value(E e) {
    return static_cast<uint64_t>(e);
}

constexpr std::span<const std::string_view> kNoWords{};

// Built on first use: other files' static tables (the sysfs layout) are made from it, and the
// word lists it points to are only known to be ready once a function is called.
std::span<const ParamSpec> table() {
    static const ParamSpec kTable[] = {
        {"auto_online_blocks", ParamKind::Word, online_type_names(), "online type",
         ParamFile::MemoryRoot, 0644, BoolText::YN, "AutoOnlineBlocks", true, ZonesEffect::None,
         [](const Params& p) { return as_value(p.auto_online_blocks); },
         [](Params& p, ParamValue v) { p.auto_online_blocks = static_cast<OnlineType>(*v); }},
        {"online_policy", ParamKind::Word, online_policy_names(), "online policy",
         ParamFile::ModuleParams, 0644, BoolText::YN, "OnlinePolicy", true, ZonesEffect::Always,
         [](const Params& p) { return as_value(p.online_policy); },
         [](Params& p, ParamValue v) { p.online_policy = static_cast<OnlinePolicy>(*v); }},
        {"auto_movable_ratio", ParamKind::Uint, kNoWords, "", ParamFile::ModuleParams, 0644,
         BoolText::YN, "AutoMovableRatio", true, ZonesEffect::UnderAutoMovable,
         [](const Params& p) { return ParamValue(p.auto_movable_ratio); },
         [](Params& p, ParamValue v) { p.auto_movable_ratio = static_cast<unsigned>(*v); }},
        {"auto_movable_numa_aware", ParamKind::Bool, kNoWords, "", ParamFile::ModuleParams, 0644,
         BoolText::YN, "AutoMovableNumaAware", true, ZonesEffect::UnderAutoMovable,
         [](const Params& p) { return ParamValue(p.auto_movable_numa_aware); },
         [](Params& p, ParamValue v) { p.auto_movable_numa_aware = *v != 0; }},
        {"memmap_on_memory", ParamKind::Word, memmap_on_memory_names(), "memmap_on_memory mode",
         ParamFile::ModuleParams, 0444, BoolText::YN, "", false, ZonesEffect::None,
         [](const Params& p) { return as_value(p.memmap_on_memory); },
         [](Params& p, ParamValue v) { p.memmap_on_memory = static_cast<MemmapOnMemory>(*v); }},
        {"movable_node", ParamKind::Bool, kNoWords, "", ParamFile::None, 0, BoolText::YN, "", false,
         ZonesEffect::None, [](const Params& p) { return ParamValue(p.movable_node); },
         [](Params& p, ParamValue v) { p.movable_node = *v != 0; }},
        {"probe", ParamKind::Bool, kNoWords, "", ParamFile::None, 0, BoolText::YN, "", false,
         ZonesEffect::None, [](const Params& p) { return ParamValue(p.probe); },
         [](Params& p, ParamValue v) { p.probe = *v != 0; }},
        {"memory_failure", ParamKind::Bool, kNoWords, "", ParamFile::None, 0, BoolText::YN, "",
         false, ZonesEffect::None, [](const Params& p) { return ParamValue(p.memory_failure); },
         [](Params& p, ParamValue v) { p.memory_failure = *v != 0; }},
        {"crash_hotplug", ParamKind::OptionalBool, kNoWords, "", ParamFile::MemoryRoot, 0444,
         BoolText::OneZero, "", false, ZonesEffect::None,
         [](const Params& p) {
             return p.crash_hotplug ? ParamValue(*p.crash_hotplug) : ParamValue();
         },
         [](Params& p, ParamValue v) {
             p.crash_hotplug = v ? std::optional<bool>(*v != 0) : std::nullopt;
         }},
    };
    return kTable;
}

}  // namespace

std::span<const ParamSpec> param_table() {
    return table();
}

const ParamSpec* find_param(std::string_view name) {
    for (const ParamSpec& p : table())
        if (p.name == name) return &p;
    return nullptr;
}

}  // namespace hotplug
