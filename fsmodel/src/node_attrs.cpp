// Files of devices/system/node and its nodeK/ directories (drivers/base/node.c).
#include <algorithm>
#include <cstdio>

#include "attributes.h"
#include "fsmodel/text.h"

namespace fsmodel::attrs {
namespace {

template <class Pred>
int node_list(const Machine& m, std::string& out, Pred pred) {
    std::vector<int> ids;
    for (const auto& n : m.nodes())
        if (pred(n)) ids.push_back(n.spec.id);
    return text(out, format_list(ids));
}

// One meminfo line: the kernel pads the label to 16 columns and the value to 8.
void meminfo_line(std::string& out, int node, const char* label, uint64_t kb) {
    char buf[96];
    snprintf(buf, sizeof buf, "Node %d %-16s%8llu kB\n", node, label,
             static_cast<unsigned long long>(kb));
    out += buf;
}

}  // namespace

int nodes_online(const Machine& m, const Ctx&, std::string& out) {
    return node_list(m, out, [](const auto&) { return true; });
}
int nodes_has_memory(const Machine& m, const Ctx&, std::string& out) {
    return node_list(m, out, [&](const auto& n) { return m.node_has_memory(n.spec.id); });
}
int nodes_has_normal_memory(const Machine& m, const Ctx&, std::string& out) {
    return node_list(m, out, [&](const auto& n) { return m.node_has_normal_memory(n.spec.id); });
}
int nodes_has_cpu(const Machine& m, const Ctx&, std::string& out) {
    return node_list(m, out, [](const auto& n) { return !n.spec.cpus.empty(); });
}

int node_cpulist(const Machine& m, const Ctx& c, std::string& out) {
    std::vector<int> cpus = m.node(c.node)->spec.cpus;
    std::sort(cpus.begin(), cpus.end());
    return text(out, format_list(cpus));
}

// "%*pb": the node's cpus as a hex mask over all possible cpus.
int node_cpumap(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, format_mask(m.node(c.node)->spec.cpus, std::max(1, m.nr_cpu_ids())));
}

int node_distance(const Machine& m, const Ctx& c, std::string& out) {
    out.clear();
    for (int d : m.node(c.node)->spec.distance) {
        if (!out.empty()) out += ' ';
        out += std::to_string(d);
    }
    out += '\n';
    return 0;
}

int node_meminfo(const Machine& m, const Ctx& c, std::string& out) {
    const uint64_t total = m.node_managed_pages(c.node) * (hotplug::kPageSize / 1024);
    const uint64_t used = std::min(total, m.node(c.node)->spec.kernel_used_kb);
    out.clear();
    meminfo_line(out, c.node, "MemTotal:", total);
    meminfo_line(out, c.node, "MemFree:", total - used);
    meminfo_line(out, c.node, "MemUsed:", used);
    for (const char* label :
         {"SwapCached:", "Active:", "Inactive:", "Active(anon):", "Inactive(anon):",
          "Active(file):", "Inactive(file):", "Unevictable:", "Mlocked:", "Dirty:", "Writeback:",
          "FilePages:", "Mapped:", "AnonPages:", "Shmem:", "KernelStack:", "PageTables:",
          "SecPageTables:", "NFS_Unstable:", "Bounce:", "WritebackTmp:", "KReclaimable:",
          "Slab:", "SReclaimable:", "SUnreclaim:", "AnonHugePages:", "ShmemHugePages:",
          "ShmemPmdMapped:", "FileHugePages:", "FilePmdMapped:"})
        meminfo_line(out, c.node, label, 0);
    for (const char* label : {"HugePages_Total:", "HugePages_Free:", "HugePages_Surp:"}) {
        char buf[64];
        // The kernel aligns these too: "HugePages_Free:  %5u".
        snprintf(buf, sizeof buf, "Node %d %-16s %5u\n", c.node, label, 0u);
        out += buf;
    }
    return 0;
}

int node_numastat(const Machine&, const Ctx&, std::string& out) {
    out = "numa_hit 0\nnuma_miss 0\nnuma_foreign 0\ninterleave_hit 0\nlocal_node 0\n"
          "other_node 0\n";
    return 0;
}

int node_vmstat(const Machine& m, const Ctx& c, std::string& out) {
    const uint64_t pages = m.node_present_pages(c.node);
    const uint64_t used = m.node(c.node)->spec.kernel_used_kb / (hotplug::kPageSize / 1024);
    out = "nr_free_pages " + std::to_string(pages > used ? pages - used : 0) + "\n";
    return 0;
}

Outcome node_action_store(Machine&, const Ctx&, std::string_view) { return Outcome{}; }

Outcome node_uevent_store(Machine& m, const Ctx& c, std::string_view s) {
    return synth_uevent(m, "/devices/system/node/node" + std::to_string(c.node), s, "node");
}

}  // namespace fsmodel::attrs
