// power/ files, bus files and the synthetic-uevent parser.
#include <algorithm>
#include <array>
#include <cctype>

#include "attributes.h"
#include "fsmodel/text.h"

namespace fsmodel::attrs {

int empty(const Machine&, const Ctx&, std::string& out) {
    out.clear();
    return 0;
}
int zero(const Machine&, const Ctx&, std::string& out) { return text(out, "0"); }
int one(const Machine&, const Ctx&, std::string& out) { return text(out, "1"); }
int newline(const Machine&, const Ctx&, std::string& out) { return text(out, ""); }
int pm_control(const Machine&, const Ctx&, std::string& out) { return text(out, "auto"); }
int pm_unsupported(const Machine&, const Ctx&, std::string& out) {
    return text(out, "unsupported");
}

// Memory devices have runtime PM disabled: "auto" is what they already are; "on" is
// accepted by the kernel too and changes nothing visible for them.
Outcome pm_control_store(Machine&, const Ctx&, std::string_view s) {
    if (sysfs_streq(s, "auto") || sysfs_streq(s, "on")) return Outcome{};
    return fail(EINVAL, "unknown runtime PM control");
}

int io_error(const Machine&, const Ctx&, std::string&) { return EIO; }
Outcome io_error_store(Machine&, const Ctx&, std::string_view) {
    return fail(EIO, "autosuspend is not in use");
}

Outcome bool_store(Machine&, const Ctx&, std::string_view s) {
    if (!kstrtobool(s)) return fail(EINVAL, "not a boolean");
    return Outcome{};
}

// bus_find_device_by_name (sysfs_streq), then device_attach finds no driver: count.
Outcome drivers_probe_store(Machine& m, const Ctx&, std::string_view s) {
    for (auto id = m.blocks().next_present(0); id; id = m.blocks().next_present(*id + 1))
        if (sysfs_streq(s, "memory" + std::to_string(*id))) return Outcome{};
    return fail(ENODEV, "no such device");
}

Outcome node_drivers_probe_store(Machine& m, const Ctx&, std::string_view s) {
    for (const auto& n : m.nodes())
        if (sysfs_streq(s, "node" + std::to_string(n.spec.id))) return Outcome{};
    return fail(ENODEV, "no such device");
}

Outcome bus_uevent_store(Machine& m, const Ctx&, std::string_view s) {
    return synth_uevent(m, "/bus/memory", s, "bus");
}

Outcome bus_node_uevent_store(Machine& m, const Ctx&, std::string_view s) {
    return synth_uevent(m, "/bus/node", s, "bus");
}

Outcome module_uevent_store(Machine& m, const Ctx&, std::string_view s) {
    return synth_uevent(m, "/module/memory_hotplug", s, "module");
}

// The root device of a subsystem (devices/system/memory, devices/system/node) has neither a
// bus nor a class: the kernel parses the write, then its uevent filter drops the event.
Outcome root_device_uevent_store(Machine&, const Ctx&, std::string_view s) {
    std::string action;
    std::vector<std::pair<std::string, std::string>> synth;
    if (int err = parse_synth_uevent(s, action, synth)) return fail(err, "bad uevent string");
    return Outcome{};
}

Outcome hugepages_store(Machine&, const Ctx&, std::string_view s) {
    uint64_t v = 0;
    if (int err = kstrtoull(s, 10, v)) return fail(err, "not a number");
    if (v != 0) return fail(ENOMEM, "no memory for huge pages");
    return Outcome{};
}

namespace {

constexpr std::array<std::string_view, 8> kActions = {"add",    "remove",  "change", "move",
                                                      "online", "offline", "bind",   "unbind"};

bool uuid_is_valid(std::string_view s) {
    if (s.size() < 36) return false;
    for (size_t i = 0; i < 36; ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

// A word of a KEY=VALUE pair: one or more alphanumerics up to `delim` or the end.
bool synth_word(std::string_view s, size_t& i, char delim) {
    const size_t start = i;
    while (i < s.size() && s[i] != delim) {
        if (std::isalnum(static_cast<unsigned char>(s[i])) == 0) return false;
        ++i;
    }
    return i > start;
}

// KEY=VALUE pairs after the UUID: alphanumerics only, one space before each pair.
bool parse_synth_args(std::string_view s, std::vector<std::pair<std::string, std::string>>& out) {
    size_t i = 36;
    while (i < s.size()) {
        if (s[i] != ' ' || ++i >= s.size()) return false;
        const size_t key = i;
        if (!synth_word(s, i, '=') || i >= s.size()) return false;
        const std::string_view name = s.substr(key, i - key);
        const size_t value = ++i;
        if (!synth_word(s, i, ' ')) return false;
        out.emplace_back("SYNTH_ARG_" + std::string(name), std::string(s.substr(value, i - value)));
    }
    return true;
}

}  // namespace

int parse_synth_uevent(std::string_view s, std::string& action,
                       std::vector<std::pair<std::string, std::string>>& synth) {
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    if (s.empty()) return EINVAL;
    const size_t space = s.find(' ');
    const std::string_view word = s.substr(0, space);
    const auto found = std::find(kActions.begin(), kActions.end(), word);
    if (found == kActions.end()) return EINVAL;
    action = std::string(*found);
    synth.clear();
    if (space == std::string_view::npos) {
        synth.emplace_back("SYNTH_UUID", "0");
        return 0;
    }
    const std::string_view args = s.substr(space + 1);
    if (!uuid_is_valid(args)) return EINVAL;
    synth.emplace_back("SYNTH_UUID", std::string(args.substr(0, 36)));
    return parse_synth_args(args, synth) ? 0 : EINVAL;
}

Outcome synth_uevent(Machine& m, std::string devpath, std::string_view s,
                     std::string_view subsystem) {
    std::string action;
    std::vector<std::pair<std::string, std::string>> synth;
    if (int err = parse_synth_uevent(s, action, synth))
        return fail(err, "unknown uevent action string or incorrect arguments");
    Outcome out = m.synthetic_uevent(std::move(devpath), std::move(action), std::move(synth));
    // The model names every event "memory"; other objects report their own subsystem.
    for (auto& e : out.events) e.subsystem = std::string(subsystem);
    return out;
}

}  // namespace fsmodel::attrs
