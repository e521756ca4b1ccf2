// Show and store functions of the emulated files, grouped by the object they belong to.
// Handlers are thin: parse with the kernel's rules, call the model, map nothing else.
#pragma once

#include "fsmodel/entry.h"

namespace fsmodel::attrs {

Outcome fail(int code, std::string message);
int text(std::string& out, std::string_view value);  // value plus "\n"

// devices/system/memory and memoryN/
int block_size_bytes(const Machine&, const Ctx&, std::string&);
Outcome probe_store(Machine&, const Ctx&, std::string_view);
Outcome soft_offline_store(Machine&, const Ctx&, std::string_view);
Outcome hard_offline_store(Machine&, const Ctx&, std::string_view);
int phys_index(const Machine&, const Ctx&, std::string&);
int state_show(const Machine&, const Ctx&, std::string&);
Outcome state_store(Machine&, const Ctx&, std::string_view);
int online_show(const Machine&, const Ctx&, std::string&);
Outcome online_store(Machine&, const Ctx&, std::string_view);
int valid_zones(const Machine&, const Ctx&, std::string&);
int phys_device(const Machine&, const Ctx&, std::string&);
int removable(const Machine&, const Ctx&, std::string&);
std::string block_node_link_name(const Machine&, const Ctx&);
std::string block_node_link(const Machine&, const Ctx&);
Outcome block_uevent_store(Machine&, const Ctx&, std::string_view);
bool probe_visible(const Machine&, const Ctx&);
bool memory_failure_visible(const Machine&, const Ctx&);

// devices/system/node and nodeK/
int nodes_online(const Machine&, const Ctx&, std::string&);
int nodes_has_memory(const Machine&, const Ctx&, std::string&);
int nodes_has_normal_memory(const Machine&, const Ctx&, std::string&);
int nodes_has_cpu(const Machine&, const Ctx&, std::string&);
int node_cpulist(const Machine&, const Ctx&, std::string&);
int node_cpumap(const Machine&, const Ctx&, std::string&);
int node_distance(const Machine&, const Ctx&, std::string&);
int node_meminfo(const Machine&, const Ctx&, std::string&);
int node_numastat(const Machine&, const Ctx&, std::string&);
int node_vmstat(const Machine&, const Ctx&, std::string&);
Outcome node_action_store(Machine&, const Ctx&, std::string_view);
Outcome node_uevent_store(Machine&, const Ctx&, std::string_view);

// devices/system/cpu and cpuN/, bus/cpu
int cpus_online(const Machine&, const Ctx&, std::string&);
int cpus_present(const Machine&, const Ctx&, std::string&);
int cpus_possible(const Machine&, const Ctx&, std::string&);
int cpus_offline(const Machine&, const Ctx&, std::string&);
int cpus_kernel_max(const Machine&, const Ctx&, std::string&);
int cpu_online(const Machine&, const Ctx&, std::string&);
Outcome cpu_online_store(Machine&, const Ctx&, std::string_view);
bool cpu_online_visible(const Machine&, const Ctx&);
std::string cpu_node_link_name(const Machine&, const Ctx&);
std::string cpu_node_link(const Machine&, const Ctx&);
Outcome cpu_uevent_store(Machine&, const Ctx&, std::string_view);
Outcome cpu_drivers_probe_store(Machine&, const Ctx&, std::string_view);
Outcome bus_cpu_uevent_store(Machine&, const Ctx&, std::string_view);
int topo_package_id(const Machine&, const Ctx&, std::string&);
int topo_core_id(const Machine&, const Ctx&, std::string&);
int topo_cluster_id(const Machine&, const Ctx&, std::string&);
int topo_own_mask(const Machine&, const Ctx&, std::string&);  // the CPU alone
int topo_own_list(const Machine&, const Ctx&, std::string&);
int topo_package_mask(const Machine&, const Ctx&, std::string&);  // its node's CPUs
int topo_package_list(const Machine&, const Ctx&, std::string&);

// devices/virtual/memory_tiering, bus/memory_tiering, kernel/mm/numa
int tier_nodelist(const Machine&, const Ctx&, std::string&);
Outcome tier_uevent_store(Machine&, const Ctx&, std::string_view);
Outcome tier_drivers_probe_store(Machine&, const Ctx&, std::string_view);
Outcome bus_tiering_uevent_store(Machine&, const Ctx&, std::string_view);
int demotion_enabled_show(const Machine&, const Ctx&, std::string&);
Outcome demotion_enabled_store(Machine&, const Ctx&, std::string_view);

// The parameter files of hotplug::param_table() (their entry's `param` is the row).
int param_show(const Machine&, const Ctx&, std::string&);
Outcome param_store(Machine&, const Ctx&, std::string_view);
bool param_visible(const Machine&, const Ctx&);
// `entries` plus a file for each row that lives in `file`, sorted by name as `ls` shows them.
std::vector<EntrySpec> with_params(hotplug::ParamFile file, std::vector<EntrySpec> entries);

// Shared small files: power/, bus files, constants.
int empty(const Machine&, const Ctx&, std::string&);
int zero(const Machine&, const Ctx&, std::string&);
int one(const Machine&, const Ctx&, std::string&);
int newline(const Machine&, const Ctx&, std::string&);
int pm_control(const Machine&, const Ctx&, std::string&);
Outcome pm_control_store(Machine&, const Ctx&, std::string_view);
int pm_unsupported(const Machine&, const Ctx&, std::string&);
int io_error(const Machine&, const Ctx&, std::string&);
Outcome io_error_store(Machine&, const Ctx&, std::string_view);
Outcome bool_store(Machine&, const Ctx&, std::string_view);
Outcome drivers_probe_store(Machine&, const Ctx&, std::string_view);
Outcome node_drivers_probe_store(Machine&, const Ctx&, std::string_view);
Outcome bus_uevent_store(Machine&, const Ctx&, std::string_view);
Outcome bus_node_uevent_store(Machine&, const Ctx&, std::string_view);
Outcome root_device_uevent_store(Machine&, const Ctx&, std::string_view);
Outcome module_uevent_store(Machine&, const Ctx&, std::string_view);
Outcome hugepages_store(Machine&, const Ctx&, std::string_view);

// debugfs: notifier-error-inject and hotplugfs's device controls
int notifier_online_show(const Machine&, const Ctx&, std::string&);
Outcome notifier_online_store(Machine&, const Ctx&, std::string_view);
int notifier_offline_show(const Machine&, const Ctx&, std::string&);
Outcome notifier_offline_store(Machine&, const Ctx&, std::string_view);
int notifier_priority_show(const Machine&, const Ctx&, std::string&);
int device_kind(const Machine&, const Ctx&, std::string&);
int device_node(const Machine&, const Ctx&, std::string&);
int device_start(const Machine&, const Ctx&, std::string&);
int device_size(const Machine&, const Ctx&, std::string&);
int device_unit(const Machine&, const Ctx&, std::string&);
int device_plugged(const Machine&, const Ctx&, std::string&);
Outcome device_plugged_store(Machine&, const Ctx&, std::string_view);

// The kernel's synthetic uevent parser (kobject_synth_uevent) for any `uevent` file:
// "<action> [<uuid> [KEY=VALUE ...]]", one trailing newline allowed. 0 or EINVAL.
int parse_synth_uevent(std::string_view text, std::string& action,
                       std::vector<std::pair<std::string, std::string>>& synth);
// Parses and emits the event for the object at `devpath` in `subsystem`.
Outcome synth_uevent(Machine& m, std::string devpath, std::string_view text,
                     std::string_view subsystem = "memory");

}  // namespace fsmodel::attrs
