// Files of the debugfs-shaped tree: the kernel's notifier-error-inject module for memory and
// hotplugfs's own device controls (the "firmware" side of a hot-plug).
#include <cstdio>

#include "attributes.h"
#include "fsmodel/text.h"

namespace fsmodel::attrs {
namespace {

using hotplug::NotifierAction;

int show_errno(const Machine& m, NotifierAction action, std::string& out) {
    return text(out, std::to_string(m.notifier_error(action)));
}

// debugfs errno attribute: a signed number (base 0) in [-MAX_ERRNO, 0], else EINVAL.
Outcome store_errno(Machine& m, NotifierAction action, std::string_view s) {
    const bool negative = !s.empty() && s[0] == '-';
    uint64_t magnitude = 0;
    if (int err = kstrtoull(negative ? s.substr(1) : s, 0, magnitude)) return fail(err, "not a number");
    if (negative ? magnitude > 4095 : magnitude != 0) return fail(EINVAL, "not an errno");
    return m.set_notifier_error(action, -static_cast<int>(magnitude));
}

const hotplug::Device& device(const Machine& m, const Ctx& c) { return m.devices()[c.device]; }

std::string hex(uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

int notifier_online_show(const Machine& m, const Ctx&, std::string& out) {
    return show_errno(m, NotifierAction::GoingOnline, out);
}
Outcome notifier_online_store(Machine& m, const Ctx&, std::string_view s) {
    return store_errno(m, NotifierAction::GoingOnline, s);
}
int notifier_offline_show(const Machine& m, const Ctx&, std::string& out) {
    return show_errno(m, NotifierAction::GoingOffline, out);
}
Outcome notifier_offline_store(Machine& m, const Ctx&, std::string_view s) {
    return store_errno(m, NotifierAction::GoingOffline, s);
}
int notifier_priority_show(const Machine& m, const Ctx&, std::string& out) {
    return text(out, std::to_string(m.notifier_priority()));
}

int device_kind(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, device(m, c).spec.kind == hotplug::DeviceKind::Dimm ? "dimm" : "virtio-mem");
}
int device_node(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, std::to_string(device(m, c).spec.node));
}
int device_start(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, hex(device(m, c).spec.start));
}
int device_size(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, std::to_string(device(m, c).spec.size));
}
int device_unit(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, std::to_string(device(m, c).spec.unit));
}
int device_plugged(const Machine& m, const Ctx& c, std::string& out) {
    return text(out, std::to_string(device(m, c).plugged));
}

// Bytes to plug, with an optional K/M/G/T suffix: a DIMM takes 0 or its size, a
// virtio-mem device any multiple of its unit up to its size.
Outcome device_plugged_store(Machine& m, const Ctx& c, std::string_view s) {
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    unsigned shift = 0;
    if (!s.empty()) {
        const std::string_view suffixes = "KMGT";
        if (auto i = suffixes.find(static_cast<char>(s.back() & ~0x20)); i != std::string_view::npos) {
            shift = 10 * static_cast<unsigned>(i + 1);
            s.remove_suffix(1);
        }
    }
    uint64_t bytes = 0;
    if (int err = kstrtoull(s, 0, bytes)) return fail(err, "not a size");
    if (shift && bytes > (UINT64_MAX >> shift)) return fail(ERANGE, "size too large");
    bytes <<= shift;
    const auto& d = device(m, c);
    if (d.spec.kind == hotplug::DeviceKind::VirtioMem) return m.resize_device(d.spec.name, bytes);
    if (bytes == d.plugged) return Outcome{};
    if (bytes == d.spec.size) return m.plug_device(d.spec.name);
    if (bytes == 0) return m.unplug_device(d.spec.name);
    return fail(EINVAL, "a DIMM is plugged whole: write 0 or its size");
}

}  // namespace fsmodel::attrs
