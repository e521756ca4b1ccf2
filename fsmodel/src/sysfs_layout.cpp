// The emulated tree, one row per file, in the order `ls` shows them.
#include "attributes.h"

namespace fsmodel {
namespace {

using namespace attrs;

std::string memory_subsystem(const Machine&, const Ctx&) { return "../../../../bus/memory"; }
std::string node_subsystem(const Machine&, const Ctx&) { return "../../../../bus/node"; }
std::string node_memory_link(const Machine&, const Ctx& c) {
    return "../../memory/memory" + std::to_string(c.block);
}
std::string bus_memory_link(const Machine&, const Ctx& c) {
    return "../../../devices/system/memory/memory" + std::to_string(c.block);
}
std::string bus_node_link(const Machine&, const Ctx& c) {
    return "../../../devices/system/node/node" + std::to_string(c.node);
}
std::string cpu_subsystem(const Machine&, const Ctx&) { return "../../../../bus/cpu"; }
std::string node_cpu_link(const Machine&, const Ctx& c) {
    return "../../cpu/cpu" + std::to_string(c.cpu);
}
std::string bus_cpu_link(const Machine&, const Ctx& c) {
    return "../../../devices/system/cpu/cpu" + std::to_string(c.cpu);
}

// Generations of the layout (EntrySpec::since): what each added, so the inode numbers of
// what was there before stay as they were.
constexpr uint8_t kCpus = 1;   // devices/system/cpu, bus/cpu, nodeK/cpuN
constexpr uint8_t kTiers = 2;  // devices/virtual/memory_tiering, bus/memory_tiering, kernel/mm

std::string tier_subsystem(const Machine&, const Ctx&) {
    return "../../../../bus/memory_tiering";
}
std::string bus_tier_link(const Machine&, const Ctx& c) {
    return "../../../devices/virtual/memory_tiering/memory_tier" + std::to_string(c.tier);
}

EntrySpec each(EntrySpec e, Each what) {
    e.each = what;
    return e;
}

const DirSpec kPower{{
    attr_rw("autosuspend_delay_ms", io_error, io_error_store, Dep::Static),
    attr_rw("control", pm_control, pm_control_store, Dep::Static),
    attr_ro("runtime_active_time", zero),
    attr_ro("runtime_status", pm_unsupported),
    attr_ro("runtime_suspended_time", zero),
}};

const DirSpec kBlock{{
    EntrySpec{Kind::Link, "node", 0777, nullptr, nullptr, Dep::Static, block_node_link, nullptr,
              Each::None, block_node_link_name},
    attr_rw("online", online_show, online_store, Dep::BlockState),
    attr_ro("phys_device", phys_device),
    attr_ro("phys_index", phys_index),
    dir("power", &kPower),
    attr_ro("removable", removable),
    attr_rw("state", state_show, state_store, Dep::BlockState),
    link("subsystem", memory_subsystem),
    attr_rw("uevent", empty, block_uevent_store, Dep::Static),
    attr_ro("valid_zones", valid_zones, Dep::ValidZones),
}};

const DirSpec kMemoryRoot{with_params(hotplug::ParamFile::MemoryRoot, {
    attr_ro("block_size_bytes", block_size_bytes),
    when(attr_wo("hard_offline_page", hard_offline_store), memory_failure_visible),
    each(dir("memory", &kBlock), Each::Block),
    dir("power", &kPower),
    when(attr_wo("probe", probe_store), probe_visible),
    when(attr_wo("soft_offline_page", soft_offline_store), memory_failure_visible),
    attr_rw("uevent", empty, root_device_uevent_store, Dep::Static),
}), Dep::BlockList};

const DirSpec kHugepageSize{{
    attr_ro("free_hugepages", zero),
    attr_rw("nr_hugepages", zero, hugepages_store, Dep::Static),
    attr_ro("surplus_hugepages", zero),
}};

const DirSpec kHugepages{{
    dir("hugepages-1048576kB", &kHugepageSize),
    dir("hugepages-2048kB", &kHugepageSize),
}};

const DirSpec kNode{{
    attr_wo("compact", node_action_store),
    since(kCpus, each(link("cpu", node_cpu_link), Each::NodeCpu)),
    attr_ro("cpulist", node_cpulist),
    attr_ro("cpumap", node_cpumap),
    attr_ro("distance", node_distance),
    dir("hugepages", &kHugepages),
    attr_ro("meminfo", node_meminfo, Dep::NodeMeminfo),
    each(link("memory", node_memory_link), Each::NodeBlock),
    attr_ro("numastat", node_numastat),
    dir("power", &kPower),
    attr_wo("reclaim", node_action_store),
    link("subsystem", node_subsystem),
    attr_rw("uevent", empty, node_uevent_store, Dep::Static),
    attr_ro("vmstat", node_vmstat, Dep::NodeMeminfo),
}, Dep::NodeBlockList};

const DirSpec kNodeRoot{{
    attr_ro("has_cpu", nodes_has_cpu),
    attr_ro("has_generic_initiator", newline),
    attr_ro("has_memory", nodes_has_memory, Dep::NodeMasks),
    attr_ro("has_normal_memory", nodes_has_normal_memory, Dep::NodeMasks),
    each(dir("node", &kNode), Each::Node),
    attr_ro("online", nodes_online),
    attr_ro("possible", nodes_online),
    dir("power", &kPower),
    attr_rw("uevent", empty, root_device_uevent_store, Dep::Static),
}};

// cpuN/topology: the basics hwloc and lscpu read (drivers/base/topology.c).
const DirSpec kCpuTopology{{
    attr_ro("cluster_cpus", topo_own_mask),
    attr_ro("cluster_cpus_list", topo_own_list),
    attr_ro("cluster_id", topo_cluster_id),
    attr_ro("core_cpus", topo_own_mask),
    attr_ro("core_cpus_list", topo_own_list),
    attr_ro("core_id", topo_core_id),
    attr_ro("core_siblings", topo_package_mask),
    attr_ro("core_siblings_list", topo_package_list),
    attr_ro("die_cpus", topo_package_mask),
    attr_ro("die_cpus_list", topo_package_list),
    attr_ro("die_id", zero),
    attr_ro("package_cpus", topo_package_mask),
    attr_ro("package_cpus_list", topo_package_list),
    attr_ro("physical_package_id", topo_package_id),
    attr_ro("thread_siblings", topo_own_mask),
    attr_ro("thread_siblings_list", topo_own_list),
}};

const DirSpec kCpu{{
    EntrySpec{Kind::Link, "node", 0777, nullptr, nullptr, Dep::Static, cpu_node_link, nullptr,
              Each::None, cpu_node_link_name},
    when(attr_rw("online", cpu_online, cpu_online_store, Dep::Static), cpu_online_visible),
    dir("power", &kPower),
    link("subsystem", cpu_subsystem),
    dir("topology", &kCpuTopology),
    attr_rw("uevent", empty, cpu_uevent_store, Dep::Static),
}};

const DirSpec kCpuRoot{{
    each(dir("cpu", &kCpu), Each::Cpu),
    attr_ro("isolated", newline),
    attr_ro("kernel_max", cpus_kernel_max),
    attr_ro("offline", cpus_offline),
    attr_ro("online", cpus_online),
    attr_ro("possible", cpus_possible),
    dir("power", &kPower),
    attr_ro("present", cpus_present),
    attr_rw("uevent", empty, root_device_uevent_store, Dep::Static),
}};

const DirSpec kSystem{{since(kCpus, dir("cpu", &kCpuRoot)), dir("memory", &kMemoryRoot),
                       dir("node", &kNodeRoot)}};
// A memory tier is a device on the memory_tiering bus, under its virtual root device.
const DirSpec kMemoryTier{{
    attr_ro("nodelist", tier_nodelist, Dep::NodeMasks),
    dir("power", &kPower),
    link("subsystem", tier_subsystem),
    attr_rw("uevent", empty, tier_uevent_store, Dep::Static),
}};
const DirSpec kMemoryTiering{{
    each(dir("memory_tier", &kMemoryTier), Each::Tier),
    dir("power", &kPower),
    attr_rw("uevent", empty, root_device_uevent_store, Dep::Static),
}, Dep::NodeMasks};
const DirSpec kVirtual{{dir("memory_tiering", &kMemoryTiering)}};

const DirSpec kDevices{{dir("system", &kSystem), since(kTiers, dir("virtual", &kVirtual))}};

const DirSpec kEmpty{{}};
const DirSpec kBusMemoryDevices{{each(link("memory", bus_memory_link), Each::Block)},
                                Dep::BlockList};
const DirSpec kBusNodeDevices{{each(link("node", bus_node_link), Each::Node)}};
const DirSpec kBusCpuDevices{{each(link("cpu", bus_cpu_link), Each::Cpu)}};

const DirSpec kBusMemory{{
    dir("devices", &kBusMemoryDevices),
    dir("drivers", &kEmpty),
    attr_rw("drivers_autoprobe", one, bool_store, Dep::Static),
    attr_wo("drivers_probe", drivers_probe_store),
    attr_wo("uevent", bus_uevent_store),
}};

const DirSpec kBusNode{{
    dir("devices", &kBusNodeDevices),
    dir("drivers", &kEmpty),
    attr_rw("drivers_autoprobe", one, bool_store, Dep::Static),
    attr_wo("drivers_probe", node_drivers_probe_store),
    attr_wo("uevent", bus_node_uevent_store),
}};

const DirSpec kBusCpu{{
    dir("devices", &kBusCpuDevices),
    dir("drivers", &kEmpty),
    attr_rw("drivers_autoprobe", one, bool_store, Dep::Static),
    attr_wo("drivers_probe", cpu_drivers_probe_store),
    attr_wo("uevent", bus_cpu_uevent_store),
}};

const DirSpec kBusTieringDevices{{each(link("memory_tier", bus_tier_link), Each::Tier)},
                                 Dep::NodeMasks};
const DirSpec kBusTiering{{
    dir("devices", &kBusTieringDevices),
    dir("drivers", &kEmpty),
    attr_rw("drivers_autoprobe", one, bool_store, Dep::Static),
    attr_wo("drivers_probe", tier_drivers_probe_store),
    attr_wo("uevent", bus_tiering_uevent_store),
}};

const DirSpec kBus{{since(kCpus, dir("cpu", &kBusCpu)), dir("memory", &kBusMemory),
                    since(kTiers, dir("memory_tiering", &kBusTiering)), dir("node", &kBusNode)}};

const DirSpec kParameters{with_params(hotplug::ParamFile::ModuleParams, {})};

const DirSpec kMemoryHotplugModule{{
    dir("parameters", &kParameters),
    attr_wo("uevent", module_uevent_store),
}};

const DirSpec kModule{{dir("memory_hotplug", &kMemoryHotplugModule)}};

// debugfs, as it appears under /sys/kernel/debug: the memory notifier-error-inject module
// (tools/testing/selftests/memory-hotplug drives it) and hotplugfs's device controls.
const DirSpec kGoingOnline{{
    attr_rw("error", notifier_online_show, notifier_online_store, Dep::Params)}};
const DirSpec kGoingOffline{{
    attr_rw("error", notifier_offline_show, notifier_offline_store, Dep::Params)}};
const DirSpec kNotifierActions{{
    dir("MEM_GOING_OFFLINE", &kGoingOffline),
    dir("MEM_GOING_ONLINE", &kGoingOnline),
}};
const DirSpec kNotifierMemory{{
    dir("actions", &kNotifierActions),
    attr_ro("priority", notifier_priority_show),
}};
const DirSpec kNotifierInject{{dir("memory", &kNotifierMemory)}};

// A device's directory stands for whichever device has its index: when devices come and go,
// the fixed attributes of the later ones move, hence Dep::DeviceList.
const DirSpec kDevice{{
    attr_ro("kind", device_kind, Dep::DeviceList),
    attr_ro("node", device_node, Dep::DeviceList),
    attr_rw("plugged", device_plugged, device_plugged_store, Dep::BlockList),
    attr_ro("size", device_size, Dep::DeviceList),
    attr_ro("start", device_start, Dep::DeviceList),
    attr_ro("unit", device_unit, Dep::DeviceList),
}};
const DirSpec kDeviceList{{each(dir("", &kDevice), Each::Device)}, Dep::DeviceList};
const DirSpec kHotplugfsDebug{{dir("devices", &kDeviceList)}};

const DirSpec kDebug{{
    dir("hotplugfs", &kHotplugfsDebug),
    dir("notifier-error-inject", &kNotifierInject),
}};
const DirSpec kNuma{{
    attr_rw("demotion_enabled", demotion_enabled_show, demotion_enabled_store, Dep::Params)}};
const DirSpec kMm{{dir("numa", &kNuma)}};

const DirSpec kKernel{{dir("debug", &kDebug), since(kTiers, dir("mm", &kMm))}};

const DirSpec kRoot{{dir("bus", &kBus), dir("devices", &kDevices), dir("kernel", &kKernel),
                     dir("module", &kModule)}};

}  // namespace

const DirSpec& sysfs_root() { return kRoot; }

}  // namespace fsmodel
