// The state file's JSON: MachineSnapshot to text and back. The member names are the
// snapshot's own (hotplug/snapshot.h), so an error Machine::restore reports for a field is
// also the JSON Pointer of that field in the file. Decoding reuses the configuration
// loader's value checks, so both files report problems alike.
#include <charconv>
#include <climits>
#include <limits>

#include "config/config_values.h"
#include "persist/state_file.h"
#include "persist/state_rules.h"

namespace hotplugfs::persist {
namespace {

using config::detail::Fields;
using config::detail::Invalid;
using config::detail::Json;
using config::detail::Value;
namespace cv = config::detail;

// Written by hand rather than through Json objects: a machine of a million varied blocks has
// as many runs, and this is ten times faster. Flags are written only when set.
void append_run(std::string& out, const hotplug::BlockRun& r) {
    char num[24];
    auto append_number = [&](const char* key, uint64_t value) {
        out += key;
        out.append(num, std::to_chars(num, num + sizeof num, value).ptr);
    };
    append_number("{\"first\":", r.first);
    append_number(",\"count\":", r.count);
    append_number(",\"node\":", static_cast<uint64_t>(r.node));
    out.append(",\"state\":\"").append(hotplug::block_state_name(r.state)).append("\"");
    if (r.multi_zone) out += ",\"zone\":\"none\"";
    else if (r.zone) out.append(",\"zone\":\"").append(hotplug::zone_name(*r.zone)).append("\"");
    if (r.holes) out += ",\"holes\":true";
    if (r.unmovable) out += ",\"unmovable\":true";
    if (r.hotplugged) out += ",\"hotplugged\":true";
    if (r.memmap) out += ",\"memmap\":true";
    out += '}';
}

Json encode_faults(const hotplug::FaultsSnapshot& f) {
    Json j = Json::object();
    j["going_online_error"] = f.going_online_error;
    j["going_offline_error"] = f.going_offline_error;
    j["notifier_priority"] = f.notifier_priority;
    Json migration = Json::array();
    for (const auto& d : f.migration) migration.push_back(Json{{"block", d.block}, {"ms", d.ms}});
    j["migration"] = std::move(migration);
    j["poisoned_pfns"] = f.poisoned_pfns;
    j["soft_offlined"] = f.soft_offlined;
    return j;
}

// A JSON integer in [min, max].
int64_t to_int(const Value& value, int64_t min, int64_t max) {
    const Json& json = value.json();
    if (!json.is_number_integer() ||
        (json.is_number_unsigned() && json.get<uint64_t>() > static_cast<uint64_t>(max)))
        value.fail("expected an integer from " + std::to_string(min) + " to " +
                   std::to_string(max));
    const auto number = json.get<int64_t>();
    if (number < min || number > max)
        value.fail(std::to_string(number) + " is out of range (" + std::to_string(min) + " to " +
                   std::to_string(max) + ")");
    return number;
}

int to_small_int(const Value& value) {
    return static_cast<int>(to_int(value, std::numeric_limits<int>::min(),
                                   std::numeric_limits<int>::max()));
}

// Block states by their sysfs words: offline, online, going-offline.
hotplug::BlockState to_block_state(const Value& value) {
    const std::string& word = cv::to_string(value);
    for (auto s : {hotplug::BlockState::Offline, hotplug::BlockState::Online,
                   hotplug::BlockState::GoingOffline})
        if (hotplug::block_state_name(s) == word) return s;
    value.fail("unknown block state \"" + word + "\"; expected offline, online or going-offline");
}

hotplug::BlockRun decode_run(const Value& value) {
    const Fields f(value, {"first", "count", "node", "state", "zone", "holes", "unmovable",
                           "hotplugged", "memmap"});
    hotplug::BlockRun r;
    r.first = cv::to_uint(f.require("first"), UINT64_MAX);
    r.count = cv::to_uint(f.require("count"), UINT64_MAX);
    r.node = static_cast<int>(cv::to_uint(f.require("node"), UINT16_MAX));
    r.state = to_block_state(f.require("state"));
    if (auto zone = f.get("zone")) {
        if (zone->json() == "none") r.multi_zone = true;
        else r.zone = cv::to_zone(*zone);
    }
    auto flag = [&](const char* key) {
        const auto v = f.get(key);
        return v && cv::to_bool(*v);
    };
    r.holes = flag("holes");
    r.unmovable = flag("unmovable");
    r.hotplugged = flag("hotplugged");
    r.memmap = flag("memmap");
    return r;
}

// A configured device is its name and plugged size; one added at runtime also carries its
// geometry, marked by "added": true.
hotplug::DeviceSnapshot decode_device(const Value& value) {
    const Fields f(value, {"name", "plugged", "added", "kind", "node", "start", "size", "unit"});
    hotplug::DeviceSnapshot d{cv::to_string(f.require("name")),
                              cv::to_uint(f.require("plugged"), UINT64_MAX), std::nullopt};
    const auto added = f.get("added");
    if (!added || !cv::to_bool(*added)) return d;
    hotplug::DeviceSpec spec;
    spec.name = d.name;
    spec.kind = cv::to_device_kind(f.require("kind"));
    spec.node = static_cast<int>(cv::to_uint(f.require("node"), UINT16_MAX));
    spec.start = cv::to_uint(f.require("start"), UINT64_MAX);
    spec.size = cv::to_uint(f.require("size"), UINT64_MAX);
    spec.unit = cv::to_uint(f.require("unit"), UINT64_MAX);
    d.added = spec;
    return d;
}

Json encode_device(const hotplug::DeviceSnapshot& d) {
    Json j{{"name", d.name}, {"plugged", d.plugged}};
    if (d.added) {
        j["added"] = true;
        j["kind"] = std::string(hotplug::device_kind_name(d.added->kind));
        j["node"] = d.added->node;
        j["start"] = d.added->start;
        j["size"] = d.added->size;
        j["unit"] = d.added->unit;
    }
    return j;
}

hotplug::FaultsSnapshot decode_faults(const Value& value) {
    const Fields f(value, {"going_online_error", "going_offline_error", "notifier_priority",
                           "migration", "poisoned_pfns", "soft_offlined"});
    hotplug::FaultsSnapshot out;
    out.going_online_error = to_small_int(f.require("going_online_error"));
    out.going_offline_error = to_small_int(f.require("going_offline_error"));
    out.notifier_priority = to_small_int(f.require("notifier_priority"));
    for (const Value& v : f.require("migration").elements()) {
        const Fields d(v, {"block", "ms"});
        out.migration.push_back(hotplug::MigrationDelay{
            cv::to_uint(d.require("block"), UINT64_MAX),
            to_int(d.require("ms"), -1, std::numeric_limits<int64_t>::max())});
    }
    for (const Value& v : f.require("poisoned_pfns").elements())
        out.poisoned_pfns.push_back(cv::to_uint(v, UINT64_MAX));
    out.soft_offlined = cv::to_uint(f.require("soft_offlined"), UINT64_MAX);
    return out;
}

// The version is checked before anything else: another format's fields mean other things.
void check_format(const Json& root) {
    if (!root.is_object() || !root.contains("format")) return;  // reported with the rest
    const Value format(root["format"], "/format");
    if (!format.json().is_number_integer())
        format.fail("expected the integer format version " + std::to_string(kFormat));
    const auto version = format.json().get<int64_t>();
    if (version != kFormat)
        format.fail("format " + std::to_string(version) + " is not supported (this hotplugfsd "
                    "reads format " + std::to_string(kFormat) + ")");
}

hotplug::MachineSnapshot decode_document(const Json& root) {
    const Value top(root, "");
    check_format(root);
    const Fields doc(top, {"format", "arch", "block_size", "nodes", "seqnum", "params",
                           "demotion_enabled", "blocks", "devices", "faults"});
    doc.require("format");
    hotplug::MachineSnapshot s;
    s.arch = cv::to_arch(doc.require("arch"));
    s.block_size = cv::to_uint(doc.require("block_size"), UINT64_MAX);
    s.nodes = cv::to_uint(doc.require("nodes"), UINT16_MAX);
    s.seqnum = cv::to_uint(doc.require("seqnum"), UINT64_MAX);
    s.params = cv::to_params(doc.require("params"), {}, cv::ParamsIn::State);
    for (const Value& v : doc.require("blocks").elements()) s.blocks.push_back(decode_run(v));
    for (const Value& v : doc.require("devices").elements()) s.devices.push_back(decode_device(v));
    s.faults = decode_faults(doc.require("faults"));
    // Files written before it was kept lack it: false, as after a boot.
    if (const auto demotion = doc.get("demotion_enabled"))
        s.demotion_enabled = cv::to_bool(*demotion);
    return s;
}

// nlohmann words syntax errors as "[json.exception.parse_error.101] parse error at line 3,
// column 5: syntax error while ..."; the position becomes the path, the rest the reason.
StateError syntax_error(const std::string& name, const Json::exception& error) {
    std::string what = error.what();
    constexpr std::string_view kAt = "parse error at ";
    const size_t at = what.find(kAt);
    const size_t colon = at == std::string::npos ? at : what.find(": ", at);
    if (colon != std::string::npos) {
        const size_t position = at + kAt.size();
        return StateError{name, what.substr(position, colon - position),
                          "not valid JSON (truncated or damaged?): " + what.substr(colon + 2)};
    }
    if (const size_t tag_end = what.find("] "); tag_end != std::string::npos)
        what.erase(0, tag_end + 2);
    return StateError{name, "/", what};
}

}  // namespace

std::string encode(const hotplug::MachineSnapshot& s) {
    Json doc = Json::object();
    doc["format"] = kFormat;
    doc["arch"] = hotplug::arch_name(s.arch);
    doc["block_size"] = s.block_size;
    doc["nodes"] = s.nodes;
    doc["seqnum"] = s.seqnum;
    doc["params"] = cv::params_json(s.params);
    doc["demotion_enabled"] = s.demotion_enabled;
    Json devices = Json::array();
    for (const auto& d : s.devices) devices.push_back(encode_device(d));
    doc["devices"] = std::move(devices);
    doc["faults"] = encode_faults(s.faults);
    // One member a line and one block run a line: small diffs, readable with any pager.
    std::string text = "{\n";
    for (const auto& [key, value] : doc.items())
        text += "\"" + key + "\": " + value.dump() + ",\n";
    text += "\"blocks\": [";
    for (size_t i = 0; i < s.blocks.size(); ++i) {
        text += i ? ",\n  " : "\n  ";
        append_run(text, s.blocks[i]);
    }
    text += "\n]\n}\n";
    return text;
}

std::variant<hotplug::MachineSnapshot, StateError> decode(std::string_view text,
                                                          const std::string& name) {
    try {
        hotplug::MachineSnapshot state = decode_document(Json::parse(text));
        check_state_rules(state);
        return state;
    } catch (const Invalid& invalid) {
        return StateError{name, invalid.json_path.empty() ? "/" : invalid.json_path,
                          invalid.reason};
    } catch (const Json::exception& error) {
        return syntax_error(name, error);
    }
}

}  // namespace hotplugfs::persist
