// Building blocks of the config loader: JSON values that know their own JSON Pointer, object
// key checking, and the scalar conversions (sizes, id lists, enum words) every section uses.
// Internal to daemon/config; the public interface is config_loader.h.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hotplug/param_table.h"
#include "hotplug/spec.h"
#include "hotplug/types.h"

namespace hotplugfs::config::detail {

// Ordered, so that "the first unknown key" means the first one in the file.
using Json = nlohmann::ordered_json;

// The first problem found. Thrown from deep inside a section and caught once, at the
// load_config_text boundary, where it becomes a ConfigError.
struct Invalid {
    std::string json_path;  // "" is the document root
    std::string reason;
};

// `base` extended by one reference token, escaped as RFC 6901 requires ("~" and "/").
std::string pointer_append(std::string_view base, std::string_view token);

std::string hex(uint64_t value);

// A JSON value together with the JSON Pointer that leads to it.
class Value {
  public:
    Value(const Json& json, std::string path) : json_(&json), path_(std::move(path)) {}

    const Json& json() const { return *json_; }
    const std::string& path() const { return path_; }
    [[noreturn]] void fail(std::string reason) const;

    // The elements of an array value; fails if this is not an array.
    std::vector<Value> elements() const;

  private:
    const Json* json_;
    std::string path_;
};

// The members of one JSON object. Construction rejects non-objects and any key outside
// `allowed`, so a misspelt key is reported before its value is even looked at.
class Fields {
  public:
    Fields(const Value& object, std::initializer_list<std::string_view> allowed)
        : Fields(object, std::span<const std::string_view>(allowed.begin(), allowed.size())) {}
    Fields(const Value& object, std::span<const std::string_view> allowed);

    const Value& object() const { return object_; }
    std::optional<Value> get(std::string_view key) const;
    Value require(std::string_view key) const;

  private:
    Value object_;
};

// Non-negative JSON integer no larger than `max`.
uint64_t to_uint(const Value& value, uint64_t max);
// Byte count or physical address: a JSON integer, "0x..." hex, or decimal digits with an
// optional binary suffix K, M, G, T or P ("128M" is 128 MiB).
uint64_t to_size(const Value& value);
bool to_bool(const Value& value);
const std::string& to_string(const Value& value);
// Ids as a JSON array of integers or as a kernel list string ("0-3,8"); each id <= max.
std::vector<uint64_t> to_id_list(const Value& value, uint64_t max);

hotplug::Arch to_arch(const Value& value);
const std::string& to_virt(const Value& value);  // systemd-detect-virt names
hotplug::Zone to_zone(const Value& value);
hotplug::OnlineType to_online_type(const Value& value);
hotplug::OnlinePolicy to_online_policy(const Value& value);
hotplug::MemmapOnMemory to_memmap_on_memory(const Value& value);
hotplug::DeviceKind to_device_kind(const Value& value);
// "online" or "offline", as a memory range's boot state; true means online.
bool to_online_state(const Value& value);

// The module parameters as JSON, one member per row of hotplug::param_table(), keyed by the
// row's name: a Bool is true/false, a Uint an integer, a Word one of the row's words, and an
// OptionalBool true/false (in a state file or GetState also null: not set). The configuration,
// the state file and GetState all use this form.
enum class ParamsIn : bool {
    Config,  // each member optional, overriding the default
    State,   // every member present: a state file holds the whole set
};
std::span<const std::string_view> param_keys();
hotplug::ParamValue to_param(const Value& value, const hotplug::ParamSpec& param, ParamsIn in);
Json param_json(const hotplug::ParamSpec& param, hotplug::ParamValue value);
hotplug::Params to_params(const Value& value, hotplug::Params params, ParamsIn in);
Json params_json(const hotplug::Params& params);

}  // namespace hotplugfs::config::detail
