// Files of devices/system/memory and its memoryN/ directories (drivers/base/memory.c).
#include <cstdio>

#include "attributes.h"
#include "fsmodel/text.h"

namespace fsmodel::attrs {

using hotplug::OnlineType;

Outcome fail(int code, std::string message) {
    Outcome out;
    out.error = hotplug::make_error(code, std::move(message));
    return out;
}

int text(std::string& out, std::string_view value) {
    out.assign(value);
    out += '\n';
    return 0;
}

namespace {

std::optional<OnlineType> online_type_from_str(std::string_view s) {
    for (OnlineType t : {OnlineType::Offline, OnlineType::Online, OnlineType::OnlineKernel,
                         OnlineType::OnlineMovable})
        if (sysfs_streq(s, hotplug::online_type_name(t))) return t;
    return std::nullopt;
}

}  // namespace

int block_size_bytes(const Machine& m, const Ctx&, std::string& out) {
    char buf[32];
    snprintf(buf, sizeof buf, "%llx\n", static_cast<unsigned long long>(m.block_size()));
    out = buf;
    return 0;
}

Outcome probe_store(Machine& m, const Ctx&, std::string_view s) {
    uint64_t addr = 0;
    if (int err = kstrtoull(s, 0, addr)) return fail(err, "probe: not an address");
    return m.probe(addr);
}

// Both stores turn any parse error into EINVAL (`kstrtoull(...) < 0`), not ERANGE.
Outcome soft_offline_store(Machine& m, const Ctx&, std::string_view s) {
    uint64_t addr = 0;
    if (kstrtoull(s, 0, addr) != 0) return fail(EINVAL, "not an address");
    const uint64_t block = addr / m.block_size();
    if (!m.blocks().present(block)) return fail(ENXIO, "no memory at that address");
    if (!m.blocks().at(block).online()) return fail(EIO, "page is not online");
    return m.soft_offline_page(addr);
}

// memory_failure() on a page that is not online: "memory outside kernel control", ENXIO.
Outcome hard_offline_store(Machine& m, const Ctx&, std::string_view s) {
    uint64_t addr = 0;
    if (kstrtoull(s, 0, addr) != 0) return fail(EINVAL, "not an address");
    const uint64_t block = addr / m.block_size();
    if (!m.blocks().present(block) || !m.blocks().at(block).online())
        return fail(ENXIO, "memory outside kernel control");
    return m.hard_offline_page(addr);
}

int phys_index(const Machine&, const Ctx& c, std::string& out) {
    char buf[32];
    snprintf(buf, sizeof buf, "%08llx\n", static_cast<unsigned long long>(c.block));
    out = buf;
    return 0;
}

int state_show(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, hotplug::block_state_name(m.blocks().at(c.block).block_state()));
}

Outcome state_store(Machine& m, const Ctx& c, std::string_view s) {
    const auto type = online_type_from_str(s);
    if (!type) return fail(EINVAL, "unknown state");
    return m.set_state(c.block, *type);
}

int online_show(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, m.blocks().at(c.block).online() ? "1" : "0");
}

Outcome online_store(Machine& m, const Ctx& c, std::string_view s) {
    const auto value = kstrtobool(s);
    if (!value) return fail(EINVAL, "not a boolean");
    return m.set_online(c.block, *value);
}

int valid_zones(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, m.valid_zones(c.block));
}

int phys_device(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, std::to_string(m.phys_device(c.block)));
}
int removable(const Machine& m, const Ctx&, std::string& out) {
    return text(out, m.removable() ? "1" : "0");
}

std::string block_node_link_name(const Machine&, const Ctx& c) {
    return "node" + std::to_string(c.node);
}

std::string block_node_link(const Machine&, const Ctx& c) {
    return "../../node/node" + std::to_string(c.node);
}

Outcome block_uevent_store(Machine& m, const Ctx& c, std::string_view s) {
    return synth_uevent(m, Machine::block_devpath(c.block), s);
}

bool probe_visible(const Machine& m, const Ctx&) { return m.params().probe; }
bool memory_failure_visible(const Machine& m, const Ctx&) { return m.params().memory_failure; }

}  // namespace fsmodel::attrs
