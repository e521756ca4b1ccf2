// Files of devices/system/cpu and its cpuN/ directories (drivers/base/cpu.c, topology.c),
// all from the CPUs the configuration gives each node. The machine's CPUs never change: every
// CPU that is present is online, possible CPUs are 0..nr_cpu_ids-1.
//
// Topology: each node with CPUs is one package (physical_package_id = the node id) of one
// die; each CPU is a core of its own with one thread, in a cluster of its own.
#include <algorithm>

#include "attributes.h"
#include "fsmodel/text.h"

namespace fsmodel::attrs {
namespace {

std::vector<int> present_cpus(const Machine& m) {
    std::vector<int> out;
    for (int cpu = 0; cpu < m.nr_cpu_ids(); ++cpu)
        if (m.cpu_node(cpu) >= 0) out.push_back(cpu);
    return out;
}

std::vector<int> package_cpus(const Machine& m, const Ctx& c) {
    std::vector<int> cpus = m.node(c.node)->spec.cpus;
    std::sort(cpus.begin(), cpus.end());
    return cpus;
}

int mask(const Machine& m, std::string& out, const std::vector<int>& cpus) {
    return text(out, format_mask(cpus, std::max(1, m.nr_cpu_ids())));
}

}  // namespace

int cpus_present(const Machine& m, const Ctx&, std::string& out) {
    return text(out, format_list(present_cpus(m)));
}
// Every present CPU is online.
int cpus_online(const Machine& m, const Ctx& c, std::string& out) {
    return cpus_present(m, c, out);
}

int cpus_possible(const Machine& m, const Ctx&, std::string& out) {
    std::vector<int> all(static_cast<size_t>(m.nr_cpu_ids()));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
    return text(out, format_list(all));
}

// Possible but not online: the holes between configured CPU ids.
int cpus_offline(const Machine& m, const Ctx&, std::string& out) {
    std::vector<int> holes;
    for (int cpu = 0; cpu < m.nr_cpu_ids(); ++cpu)
        if (m.cpu_node(cpu) < 0) holes.push_back(cpu);
    return text(out, format_list(holes));
}

int cpus_kernel_max(const Machine&, const Ctx&, std::string& out) {
    return text(out, std::to_string(hotplug::kNrCpus - 1));
}

int cpu_online(const Machine&, const Ctx&, std::string& out) {
    return text(out, "1");
}

// CPU hotplug is not emulated: onlining an online CPU succeeds (device_online's "already
// there"), taking one offline is refused the way cpu_down refuses a CPU it cannot stop.
Outcome cpu_online_store(Machine&, const Ctx&, std::string_view s) {
    const auto online = kstrtobool(s);
    if (!online) return fail(EINVAL, "not a boolean");
    if (!*online) return fail(EBUSY, "CPU hotplug is not emulated: the CPU stays online");
    return Outcome{};
}

// x86 cannot take CPU 0 offline, so its cpu0 has no `online` file; other architectures can.
bool cpu_online_visible(const Machine& m, const Ctx& c) {
    return m.arch() != hotplug::Arch::X86_64 || c.cpu != 0;
}

std::string cpu_node_link_name(const Machine&, const Ctx& c) {
    return "node" + std::to_string(c.node);
}
std::string cpu_node_link(const Machine&, const Ctx& c) {
    return "../../node/node" + std::to_string(c.node);
}

Outcome cpu_uevent_store(Machine& m, const Ctx& c, std::string_view s) {
    return synth_uevent(m, "/devices/system/cpu/cpu" + std::to_string(c.cpu), s, "cpu");
}

Outcome cpu_drivers_probe_store(Machine& m, const Ctx&, std::string_view s) {
    for (int cpu : present_cpus(m))
        if (sysfs_streq(s, "cpu" + std::to_string(cpu))) return Outcome{};
    return fail(ENODEV, "no such device");
}

Outcome bus_cpu_uevent_store(Machine& m, const Ctx&, std::string_view s) {
    return synth_uevent(m, "/bus/cpu", s, "bus");
}

int topo_package_id(const Machine&, const Ctx& c, std::string& out) {
    return text(out, std::to_string(c.node));
}
int topo_core_id(const Machine& m, const Ctx& c, std::string& out) {
    const auto cpus = package_cpus(m, c);
    return text(out, std::to_string(std::find(cpus.begin(), cpus.end(), c.cpu) - cpus.begin()));
}
int topo_cluster_id(const Machine&, const Ctx& c, std::string& out) {
    return text(out, std::to_string(c.cpu));
}
int topo_own_mask(const Machine& m, const Ctx& c, std::string& out) {
    return mask(m, out, {c.cpu});
}
int topo_own_list(const Machine&, const Ctx& c, std::string& out) {
    return text(out, std::to_string(c.cpu));
}
int topo_package_mask(const Machine& m, const Ctx& c, std::string& out) {
    return mask(m, out, package_cpus(m, c));
}
int topo_package_list(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, format_list(package_cpus(m, c)));
}

}  // namespace fsmodel::attrs
