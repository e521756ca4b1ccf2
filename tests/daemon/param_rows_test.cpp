// Every row of hotplug::param_table() reaches every place a parameter appears: the
// configuration, the state file, its sysfs file (name, mode, text, store), its D-Bus property
// and PropertiesChanged, and GetState. The expectations are spelt out here from the row's
// declared kind, so a consumer that ignores a row, or renders it its own way, fails.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "bus/bus_backend.h"
#include "bus/bus_objects.h"
#include "config/config_loader.h"
#include "hotplug/machine.h"
#include "hotplug/param_table.h"
#include "hotplug/spec.h"
#include "model/live_machine.h"
#include "persist/state_file.h"

using namespace hotplugfs;
using hotplug::ParamKind;
using hotplug::ParamSpec;
using hotplug::ParamValue;

namespace {

// A valid value other than the default.
uint64_t other_value(const ParamSpec& param) {
    const uint64_t before = param.get(hotplug::default_machine_spec().params).value_or(0);
    switch (param.kind) {
        case ParamKind::Word:
            return (before + 1) % param.words.size();
        case ParamKind::Uint:
            return before + 7;
        case ParamKind::Bool:
        case ParamKind::OptionalBool:
            break;
    }
    return before ? 0 : 1;
}

// The value as JSON, written out by kind (not through the code under test).
std::string json_text(const ParamSpec& param, uint64_t value) {
    switch (param.kind) {
        case ParamKind::Word:
            return "\"" + std::string(param.words[value]) + "\"";
        case ParamKind::Uint:
            return std::to_string(value);
        case ParamKind::Bool:
        case ParamKind::OptionalBool:
            break;
    }
    return value ? "true" : "false";
}

// What the sysfs file reads, by the kernel's formats: param_get_bool's Y/N, the device
// attributes' 1/0, param_get_uint's decimal, the words of the custom getters.
std::string sysfs_text(const ParamSpec& param, uint64_t value) {
    switch (param.kind) {
        case ParamKind::Word:
            return std::string(param.words[value]) + "\n";
        case ParamKind::Uint:
            return std::to_string(value) + "\n";
        case ParamKind::Bool:
        case ParamKind::OptionalBool:
            break;
    }
    if (param.bool_text == hotplug::BoolText::OneZero) return value ? "1\n" : "0\n";
    return value ? "Y\n" : "N\n";
}

std::string sysfs_path(const ParamSpec& param) {
    const char* dir = param.file == hotplug::ParamFile::MemoryRoot
                          ? "devices/system/memory/"
                          : "module/memory_hotplug/parameters/";
    return dir + std::string(param.name);
}

struct Live {
    explicit Live(const hotplug::MachineSpec& s)
        : spec(s), live(spec, std::move(*hotplug::Machine::build(spec)), 0), backend{live, {}} {}
    hotplug::MachineSpec spec;
    LiveMachine live;
    bus::Backend backend;

    std::optional<fsmodel::Stat> stat(const std::string& path) const {
        const auto ino = live.resolve(path);
        if (!ino) return std::nullopt;
        fsmodel::Stat st;
        if (live.read([&](const auto& m, const auto& t) { return t.getattr(m, *ino, st); }) != 0)
            return std::nullopt;
        return st;
    }
    std::string read(const std::string& path) const {
        const auto ino = live.resolve(path);
        REQUIRE(ino);
        std::string out;
        live.read([&](const auto& m, const auto& t) { return t.read(m, *ino, out); });
        return out;
    }
    ParamValue value(const ParamSpec& param) const {
        return live.read([&](const auto& m, const auto&) { return param.get(m.params()); });
    }
};

const sd_bus_vtable* find_property(std::string_view name) {
    for (const sd_bus_vtable* v = bus::manager_vtable(); v->type != _SD_BUS_VTABLE_END; ++v)
        if (v->type == _SD_BUS_VTABLE_PROPERTY && v->x.property.member == name) return v;
    return nullptr;
}

}  // namespace

TEST_CASE("every parameter row: configuration, state file, sysfs, D-Bus and GetState") {
    for (const ParamSpec& param : hotplug::param_table()) {
        INFO(param.name);
        const uint64_t other = other_value(param);
        const std::string name(param.name);

        // The configuration takes the row's key and kind.
        const std::string config =
            R"({"parameters": {")" + name + "\": " + json_text(param, other) + "}}";
        const auto loaded = config::load_config_text(config, "params.json");
        REQUIRE(std::holds_alternative<hotplug::MachineSpec>(loaded));
        hotplug::MachineSpec spec = std::get<hotplug::MachineSpec>(loaded);
        CHECK(param.get(spec.params) == ParamValue(other));

        // A wrong kind of value is refused at the row's JSON Pointer.
        const auto refused =
            config::load_config_text(R"({"parameters": {")" + name + R"(": [1]}})", "params.json");
        REQUIRE(std::holds_alternative<config::ConfigError>(refused));
        CHECK(std::get<config::ConfigError>(refused).json_path == "/parameters/" + name);

        // The state file holds it under its key and brings it back.
        auto machine = hotplug::Machine::build(spec);
        REQUIRE(machine.ok());
        const std::string state = persist::encode(machine->snapshot());
        CHECK(state.find("\"" + name + "\":" + json_text(param, other)) != std::string::npos);
        const auto decoded = persist::decode(state, "state.json");
        REQUIRE(std::holds_alternative<hotplug::MachineSnapshot>(decoded));
        CHECK(param.get(std::get<hotplug::MachineSnapshot>(decoded).params) == ParamValue(other));

        // Its sysfs file: where the row says, with its mode and the kernel's text.
        Live live(spec);
        if (param.file != hotplug::ParamFile::None) {
            const auto st = live.stat(sysfs_path(param));
            REQUIRE(st);
            CHECK(st->mode == (S_IFREG | param.mode));
            CHECK(live.read(sysfs_path(param)) == sysfs_text(param, other));
            const uint64_t back = param.get(hotplug::default_machine_spec().params).value_or(0);
            const long written =
                live.backend.write_path(sysfs_path(param), sysfs_text(param, back));
            if (param.runtime) {
                CHECK(written > 0);
                CHECK(live.value(param) == ParamValue(back));
            } else {
                CHECK(written == -EACCES);  // no store: kernfs refuses the write
                CHECK(live.value(param) == ParamValue(other));
            }
            if (param.kind == ParamKind::OptionalBool)  // absent while unset
                CHECK_FALSE(Live(hotplug::default_machine_spec()).stat(sysfs_path(param)));
        }

        // Its D-Bus property and PropertiesChanged.
        hotplug::Params changed = hotplug::default_machine_spec().params;
        param.set(changed, other);
        const auto names =
            bus::changed_parameter_properties(hotplug::default_machine_spec().params, changed);
        if (param.dbus.empty()) {
            CHECK(names.empty());
        } else {
            const sd_bus_vtable* property = find_property(param.dbus);
            REQUIRE(property);
            const char* signature = param.kind == ParamKind::Word   ? "s"
                                    : param.kind == ParamKind::Uint ? "u"
                                                                    : "b";
            CHECK(std::strcmp(property->x.property.signature, signature) == 0);
            CHECK((property->flags & SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) != 0);
            REQUIRE(names.size() == 1);
            CHECK(names[0] == param.dbus);
        }

        // GetState.
        const auto got = nlohmann::json::parse(bus::state_json(Live(spec).backend));
        CHECK(got["parameters"][name] == nlohmann::json::parse(json_text(param, other)));
    }
}
