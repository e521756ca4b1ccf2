// The hotplugctl commands that call the daemon's D-Bus API.
#include "ctl/commands.h"

#include <unistd.h>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "bus_api/bus_names.h"
#include "ctl/record.h"
#include "support/printable.h"

namespace hotplugfs::ctl {
namespace {

using Json = nlohmann::ordered_json;

// Prints the outcome of a call the way each output mode wants it; returns the exit code.
int report(const Context& c, bool ok, const sd_bus_error& error, const std::string& what,
           const Json& result = Json::object()) {
    if (ok) {
        if (c.json) std::printf("%s\n", Json({{"ok", true}, {"result", result}}).dump().c_str());
        return 0;
    }
    const int e = sd_bus_error_get_errno(&error);
    const char* message = error.message ? error.message : std::strerror(e);
    if (c.json) {
        std::printf("%s\n", Json({{"ok", false},
                                  {"error", error.name ? error.name : ""},
                                  {"errno", e},
                                  {"message", message}})
                                .dump()
                                .c_str());
    } else {
        std::fprintf(stderr, "hotplugctl: %s: %s\n", printable(what).c_str(), printable(message).c_str());
    }
    return 1;
}

// Calls a Manager1 method that returns nothing.
int simple(const Context& c, const char* member, const std::string& what,
           const std::function<int(sd_bus_message*)>& fill) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    const bool ok = c.client().call(member, fill, &reply, &error);
    const int rc = report(c, ok, error, what);
    sd_bus_message_unref(reply);
    sd_bus_error_free(&error);
    return rc;
}

int usage(const Command& cmd) {
    std::fprintf(stderr, "Usage: hotplugctl %s %s\nTry 'hotplugctl %s --help'.\n", cmd.name,
                 cmd.args, cmd.name);
    return 2;
}

std::optional<Json> get_state(const Context& c, int& rc) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    std::optional<Json> state;
    if (c.client().call("GetState", nullptr, &reply, &error)) {
        const char* text = nullptr;
        if (sd_bus_message_read(reply, "s", &text) >= 0) state = Json::parse(text, nullptr, false);
    }
    rc = state && !state->is_discarded() ? 0 : report(c, false, error, "status");
    sd_bus_message_unref(reply);
    sd_bus_error_free(&error);
    if (rc) return std::nullopt;
    return state;
}

void print_status(const Json& s) {
    const uint64_t bs = s["block_size"].get<uint64_t>();
    std::printf("%-37s %6s %-14s %-9s %4s  %s\n", "RANGE", "SIZE", "STATE", "BLOCK", "NODE",
                "ZONES");
    uint64_t online = 0, offline = 0;
    for (const auto& run : s["blocks"]) {
        const uint64_t first = run["first"].get<uint64_t>(), last = run["last"].get<uint64_t>();
        const uint64_t size = (last - first + 1) * bs;
        const std::string state = run["state"].get<std::string>();
        (state == "offline" ? offline : online) += size;
        const std::string blocks = first == last
                                       ? std::to_string(first)
                                       : std::to_string(first) + "-" + std::to_string(last);
        std::printf("0x%016" PRIx64 "-0x%016" PRIx64 " %6s %-14s %-9s %4d  %s\n", first * bs,
                    (last + 1) * bs - 1, format_size(size).c_str(), state.c_str(), blocks.c_str(),
                    run["node"].get<int>(), run["zones"].get<std::string>().c_str());
    }
    std::printf("\nMemory block size:    %s\nTotal online memory:  %s\nTotal offline memory: %s\n",
                format_size(bs).c_str(), format_size(online).c_str(), format_size(offline).c_str());
    if (!s["devices"].empty()) {
        std::printf("\n%-16s %-10s %4s %-18s %8s %8s\n", "DEVICE", "KIND", "NODE", "START", "SIZE",
                    "PLUGGED");
        for (const auto& d : s["devices"])
            std::printf("%-16s %-10s %4d 0x%016" PRIx64 " %8s %8s\n",
                        d["name"].get<std::string>().c_str(), d["kind"].get<std::string>().c_str(),
                        d["node"].get<int>(), d["start"].get<uint64_t>(),
                        format_size(d["size"].get<uint64_t>()).c_str(),
                        format_size(d["plugged"].get<uint64_t>()).c_str());
    }
    std::printf("\n");
    for (const auto& [k, v] : s["parameters"].items())
        std::printf("%s: %s\n", k.c_str(),
                    v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
}

// --- commands
// -------------------------------------------------------------------------------------
int cmd_status(const Context& c, const Args& a) {
    if (!a.empty()) return usage(*c.command);
    int rc = 0;
    const auto state = get_state(c, rc);
    if (!state) return rc;
    if (c.json)
        std::printf("%s\n", state->dump(2).c_str());
    else
        print_status(*state);
    return 0;
}

int cmd_probe(const Context& c, const Args& a) {
    const auto addr = a.size() == 1 ? parse_size(a[0]) : std::nullopt;
    if (!addr) return usage(*c.command);
    return simple(c, "Probe", "probe " + a[0],
                  [&](sd_bus_message* m) { return sd_bus_message_append(m, "t", *addr); });
}

int cmd_online(const Context& c, const Args& a) {
    const auto block = !a.empty() && a.size() <= 2 ? parse_block(a[0]) : std::nullopt;
    if (!block) return usage(*c.command);
    const std::string type = a.size() == 2 ? a[1] : "";
    return simple(c, "Online", "online memory" + std::to_string(*block), [&](sd_bus_message* m) {
        return sd_bus_message_append(m, "ts", *block, type.c_str());
    });
}

int cmd_offline(const Context& c, const Args& a) {
    const auto block = a.size() == 1 ? parse_block(a[0]) : std::nullopt;
    if (!block) return usage(*c.command);
    return simple(c, "Offline", "offline memory" + std::to_string(*block),
                  [&](sd_bus_message* m) { return sd_bus_message_append(m, "t", *block); });
}

int cmd_set(const Context& c, const Args& a) {
    if (a.size() != 2) return usage(*c.command);
    return simple(c, "SetParameter", "set " + a[0], [&](sd_bus_message* m) {
        return sd_bus_message_append(m, "ss", a[0].c_str(), a[1].c_str());
    });
}

// plug --size SIZE [--kind K] [--node N] [--requested SIZE] [--unit SIZE] [--start ADDR]
// [--name NAME]: a new device, through AddDevice; prints its name.
int plug_new(const Context& c, const Args& a) {
    std::string kind = "dimm", name;
    int32_t node = 0;
    std::optional<uint64_t> size, requested, unit, start;
    for (size_t i = 0; i < a.size(); ++i) {
        if (i + 1 >= a.size()) return usage(*c.command);
        const std::string& v = a[++i];
        const std::string& o = a[i - 1];
        auto number = [&](std::optional<uint64_t>& out) { return bool(out = parse_size(v)); };
        if (o == "--kind" && (v == "dimm" || v == "virtio-mem"))
            kind = v;
        else if (o == "--node" && !v.empty() && v.find_first_not_of("0123456789") == v.npos &&
                 v.size() < 6)
            node = std::stoi(v);
        else if (o == "--name" && !v.empty())
            name = v;
        else if (!((o == "--size" && number(size)) || (o == "--requested" && number(requested)) ||
                   (o == "--unit" && number(unit)) || (o == "--start" && number(start))))
            return usage(*c.command);
    }
    if (!size) return usage(*c.command);
    auto fill = [&](sd_bus_message* m) {
        int r = sd_bus_message_append(m, "sit", kind.c_str(), node, *size);
        if (r >= 0) r = sd_bus_message_open_container(m, 'a', "{sv}");
        auto option = [&](const char* key, const char* type, auto value) {
            if (r >= 0) r = sd_bus_message_append(m, "{sv}", key, type, value);
        };
        if (!name.empty()) option("name", "s", name.c_str());
        if (requested) option("requested", "t", *requested);
        if (unit) option("unit", "t", *unit);
        if (start) option("start", "t", *start);
        return r < 0 ? r : sd_bus_message_close_container(m);
    };
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    bool ok = c.client().call("AddDevice", fill, &reply, &error);
    const char* added = nullptr;
    ok = ok && sd_bus_message_read(reply, "s", &added) >= 0;
    const int rc =
        report(c, ok, error, "plug " + kind, ok ? Json{{"name", added}} : Json::object());
    if (ok && !c.json) std::printf("%s\n", added);
    sd_bus_message_unref(reply);
    sd_bus_error_free(&error);
    return rc;
}

int cmd_plug(const Context& c, const Args& a) {
    if (!a.empty() && a[0].rfind("--", 0) == 0) return plug_new(c, a);
    if (a.size() != 1) return usage(*c.command);
    return simple(c, "PlugDevice", "plug " + a[0],
                  [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", a[0].c_str()); });
}

int cmd_unplug(const Context& c, const Args& a) {
    if (a.size() != 1) return usage(*c.command);
    return simple(c, "UnplugDevice", "unplug " + a[0],
                  [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", a[0].c_str()); });
}

int cmd_resize(const Context& c, const Args& a) {
    const auto size = a.size() == 2 ? parse_size(a[1]) : std::nullopt;
    if (!size) return usage(*c.command);
    return simple(c, "ResizeDevice", "resize " + a[0], [&](sd_bus_message* m) {
        return sd_bus_message_append(m, "st", a[0].c_str(), *size);
    });
}

// fault notifier ACTION ERRNO | fault block N [--unmovable] [--migration-ms MS] | fault poison ADDR
// [--hard]
int cmd_fault(const Context& c, const Args& a) {
    if (a.size() == 3 && a[0] == "notifier") {
        char* end = nullptr;
        const long e = std::strtol(a[2].c_str(), &end, 10);
        if (*end || a[2].empty()) return usage(*c.command);
        return simple(c, "SetNotifierError", "fault notifier " + a[1], [&](sd_bus_message* m) {
            return sd_bus_message_append(m, "si", a[1].c_str(), static_cast<int32_t>(e));
        });
    }
    if (a.size() >= 2 && a[0] == "block") {
        const auto block = parse_block(a[1]);
        bool unmovable = false;
        int64_t ms = 0;
        for (size_t i = 2; i < a.size(); ++i) {
            if (a[i] == "--unmovable")
                unmovable = true;
            else if (a[i] == "--migration-ms" && i + 1 < a.size())
                ms = std::strtoll(a[++i].c_str(), nullptr, 10);
            else
                return usage(*c.command);
        }
        if (!block) return usage(*c.command);
        return simple(c, "SetBlockFault", "fault block " + a[1], [&](sd_bus_message* m) {
            return sd_bus_message_append(m, "tbx", *block, unmovable ? 1 : 0, ms);
        });
    }
    if ((a.size() == 2 || (a.size() == 3 && a[2] == "--hard")) && a[0] == "poison") {
        const auto addr = parse_size(a[1]);
        if (!addr) return usage(*c.command);
        return simple(c, "PoisonPage", "fault poison " + a[1], [&](sd_bus_message* m) {
            return sd_bus_message_append(m, "tb", *addr, a.size() == 3 ? 1 : 0);
        });
    }
    return usage(*c.command);
}

// The daemon reads and writes the file itself: make the path absolute here.
std::string absolute(const std::string& file) {
    if (file.empty() || file[0] == '/') return file;
    char cwd[4096];
    return getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + file : file;
}

int cmd_save(const Context& c, const Args& a) {
    if (a.size() != 1) return usage(*c.command);
    const std::string file = absolute(a[0]);
    return simple(c, "Save", "save " + a[0],
                  [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", file.c_str()); });
}

int cmd_load(const Context& c, const Args& a) {
    if (a.size() != 1) return usage(*c.command);
    const std::string file = absolute(a[0]);
    return simple(c, "Load", "load " + a[0],
                  [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", file.c_str()); });
}

// Reads files only: never connects to a daemon.
int cmd_record(const Context&, const Args& a) { return record_command(a); }

}  // namespace

const Command kCommands[] = {
    {"status", "", "show blocks (like lsmem), devices and parameters", cmd_status},
    {"probe", "ADDRESS", "hot-add the block at ADDRESS (hex or decimal, K/M/G/T)", cmd_probe},
    {"online", "BLOCK [online|kernel|movable]", "online a block (memoryN or N)", cmd_online},
    {"offline", "BLOCK", "offline a block", cmd_offline},
    {"set", "PARAMETER VALUE",
     "set auto_online_blocks or a module parameter (online_policy, auto_movable_ratio, ...)",
     cmd_set},
    {"plug",
     "DEVICE | --size SIZE [--kind dimm|virtio-mem] [--node N] [--requested SIZE] "
     "[--unit SIZE] [--start ADDRESS] [--name NAME]",
     "plug a configured device whole, or add a new device (a DIMM by default) in the first free "
     "place and print its name",
     cmd_plug},
    {"unplug", "DEVICE", "unplug a memory device (one added by plug --size is removed)",
     cmd_unplug},
    {"resize", "DEVICE SIZE", "plug or unplug a virtio-mem device to SIZE (K/M/G/T)", cmd_resize},
    {"fault",
     "notifier MEM_GOING_ONLINE|MEM_GOING_OFFLINE ERRNO | block BLOCK [--unmovable] "
     "[--migration-ms MS] | poison ADDRESS [--hard]",
     "arm or clear fault injection (ERRNO 0 and no flags clear)", cmd_fault},
    {"save", "FILE", "write the machine's state to FILE (the --state format)", cmd_save},
    {"load", "FILE", "replace the machine's state by the one saved in FILE", cmd_load},
    {"record", "[--sysroot DIR] [--arch ARCH] [--pluggable SIZE] [-o FILE]",
     "write a configuration that serves the same memory sysfs as this machine's /sys, or the "
     "captured tree DIR/sys (reads files only; no daemon needed)",
     cmd_record},
    {nullptr, nullptr, nullptr, nullptr}};

}  // namespace hotplugfs::ctl
