// Scalar conversions of the config loader. Every function either returns a valid value or
// fails at the exact JSON Pointer of the value it was given.
#include "config/config_values.h"

#include <cctype>
#include <charconv>
#include <climits>
#include <system_error>

namespace hotplugfs::config::detail {
namespace {

// A short rendering of a rejected value for error messages; whole objects are not repeated.
std::string describe(const Json& json) {
    if (json.is_object()) return "an object";
    if (json.is_array()) return "an array";
    std::string text = json.dump();
    constexpr size_t kMax = 40;
    if (text.size() > kMax) text = text.substr(0, kMax) + "...";
    return text;
}

std::string quote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out.append(1, '"').append(text).append(1, '"');
    return out;
}

std::string join(std::span<const std::string_view> words) {
    std::string out;
    for (std::string_view word : words) out += (out.empty() ? "" : ", ") + std::string(word);
    return out;
}

// Parses all of `digits` in `base`; nullopt when empty, malformed or above 2^64-1 (the
// caller tells the two apart through `overflow`).
std::optional<uint64_t> parse_digits(std::string_view digits, int base, bool& overflow) {
    uint64_t value = 0;
    const char* end = digits.data() + digits.size();
    const auto [ptr, ec] = std::from_chars(digits.data(), end, value, base);
    overflow = ec == std::errc::result_out_of_range;
    if (digits.empty() || ec != std::errc() || ptr != end) return std::nullopt;
    return value;
}

// Binary suffixes, either case: K is 2^10 ... P is 2^50. 0 when `suffix` is none of them.
unsigned suffix_shift(char suffix) {
    constexpr std::string_view kSuffixes = "KMGTP";
    const size_t i =
        kSuffixes.find(static_cast<char>(std::toupper(static_cast<unsigned char>(suffix))));
    return i == std::string_view::npos ? 0 : 10 * static_cast<unsigned>(i + 1);
}

uint64_t size_from_text(const Value& value, const std::string& text) {
    const bool is_hex = text.starts_with("0x") || text.starts_with("0X");
    std::string_view digits = text;
    unsigned shift = 0;
    if (is_hex) {
        digits.remove_prefix(2);
    } else if (!digits.empty() && (shift = suffix_shift(digits.back())) != 0) {
        digits.remove_suffix(1);
    }
    bool overflow = false;
    const auto number = parse_digits(digits, is_hex ? 16 : 10, overflow);
    if (overflow || (number && *number > (UINT64_MAX >> shift)))
        value.fail(quote(text) + " does not fit in 64 bits");
    if (!number)
        value.fail(quote(text) +
                   " is not a size: expected an integer, \"0x\" hex, or digits with a K, M, G, "
                   "T or P suffix");
    return *number << shift;
}

// One element of a list string: "7" or "4-9".
void append_list_item(const Value& value, std::string_view item, uint64_t max,
                      std::vector<uint64_t>& ids) {
    const std::string bad = "bad id list " + quote(to_string(value)) +
                            ": expected comma-separated ids or ranges like \"0-3,8\"";
    const size_t dash = item.find('-');
    bool overflow = false;
    const auto first = parse_digits(item.substr(0, dash), 10, overflow);
    const auto last =
        dash == std::string_view::npos ? first : parse_digits(item.substr(dash + 1), 10, overflow);
    if (!first || !last || *last < *first) value.fail(bad);
    if (*last > max)
        value.fail("id " + std::to_string(*last) + " in " + quote(to_string(value)) +
                   " is out of range (at most " + std::to_string(max) + ")");
    for (uint64_t id = *first; id <= *last; ++id) ids.push_back(id);
}

std::vector<uint64_t> id_list_from_text(const Value& value, uint64_t max) {
    std::vector<uint64_t> ids;
    std::string_view rest = to_string(value);
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        append_list_item(value, rest.substr(0, comma), max, ids);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
        if (rest.empty()) append_list_item(value, rest, max, ids);  // trailing comma
    }
    return ids;
}

// The enum value whose core name is the given word; the core's own name tables are the
// single source of the accepted words.
template <class Enum, size_t N>
Enum to_word(const Value& value, std::string_view (*name)(Enum)) {
    const std::string& word = to_string(value);
    std::string choices;
    for (size_t i = 0; i < N; ++i) {
        const auto candidate = static_cast<Enum>(i);
        if (name(candidate) == word) return candidate;
        choices += (i ? ", " : "") + std::string(name(candidate));
    }
    value.fail("unknown value " + quote(word) + "; expected one of " + choices);
}

}  // namespace

std::string pointer_append(std::string_view base, std::string_view token) {
    std::string out(base);
    out += '/';
    for (char c : token) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

std::string hex(uint64_t value) {
    char buf[24];
    const auto result = std::to_chars(buf, buf + sizeof buf, value, 16);
    return "0x" + std::string(buf, result.ptr);
}

void Value::fail(std::string reason) const {
    throw Invalid{path_, std::move(reason)};
}

std::vector<Value> Value::elements() const {
    if (!json_->is_array()) fail("expected an array, got " + describe(*json_));
    std::vector<Value> out;
    out.reserve(json_->size());
    for (size_t i = 0; i < json_->size(); ++i)
        out.emplace_back((*json_)[i], pointer_append(path_, std::to_string(i)));
    return out;
}

Fields::Fields(const Value& object, std::span<const std::string_view> allowed)
    : object_(object) {
    const Json& json = object.json();
    if (!json.is_object()) object.fail("expected an object, got " + describe(json));
    for (const auto& [key, member] : json.items()) {
        bool known = false;
        for (std::string_view name : allowed) known = known || name == key;
        if (!known)
            Value(member, pointer_append(object.path(), key))
                .fail("unknown key " + quote(key) + "; expected one of " + join(allowed));
    }
}

std::optional<Value> Fields::get(std::string_view key) const {
    const Json& json = object_.json();
    const auto it = json.find(std::string(key));
    if (it == json.end()) return std::nullopt;
    return Value(*it, pointer_append(object_.path(), key));
}

Value Fields::require(std::string_view key) const {
    if (auto value = get(key)) return *value;
    object_.fail("missing required key " + quote(key));
}

uint64_t to_uint(const Value& value, uint64_t max) {
    const Json& json = value.json();
    if (!json.is_number_unsigned())
        value.fail("expected a non-negative integer, got " + describe(json));
    const auto number = json.get<uint64_t>();
    if (number > max)
        value.fail(std::to_string(number) + " is out of range (at most " + std::to_string(max) +
                   ")");
    return number;
}

uint64_t to_size(const Value& value) {
    const Json& json = value.json();
    if (json.is_string()) return size_from_text(value, json.get_ref<const std::string&>());
    if (json.is_number_unsigned()) return json.get<uint64_t>();
    value.fail("expected a size (an integer, or a string like \"128M\" or \"0x8000000\"), got " +
               describe(json));
}

bool to_bool(const Value& value) {
    if (!value.json().is_boolean())
        value.fail("expected true or false, got " + describe(value.json()));
    return value.json().get<bool>();
}

const std::string& to_string(const Value& value) {
    if (!value.json().is_string()) value.fail("expected a string, got " + describe(value.json()));
    return value.json().get_ref<const std::string&>();
}

std::vector<uint64_t> to_id_list(const Value& value, uint64_t max) {
    if (value.json().is_string()) return id_list_from_text(value, max);
    if (!value.json().is_array())
        value.fail("expected an array of ids or a list string like \"0-3,8\", got " +
                   describe(value.json()));
    std::vector<uint64_t> ids;
    for (const Value& element : value.elements()) ids.push_back(to_uint(element, max));
    return ids;
}

hotplug::Arch to_arch(const Value& value) {
    return to_word<hotplug::Arch, 4>(value, hotplug::arch_name);
}
// The names systemd-detect-virt prints, which udev's CONST{virt} compares against.
const std::string& to_virt(const Value& value) {
    static constexpr std::string_view kNames[] = {
        "none", "kvm", "amazon", "qemu", "bochs", "xen", "uml", "vmware", "oracle",
        "microsoft", "zvm", "parallels", "bhyve", "qnx", "acrn", "powervm", "apple", "sre",
        "google", "systemd-nspawn", "lxc-libvirt", "lxc", "openvz", "docker", "podman", "rkt",
        "wsl", "proot", "pouch"};
    const std::string& word = to_string(value);
    std::string choices;
    for (std::string_view name : kNames) {
        if (name == word) return word;
        choices += (choices.empty() ? "" : ", ") + std::string(name);
    }
    value.fail("unknown value " + quote(word) + "; expected one of " + choices);
}
hotplug::Zone to_zone(const Value& value) {
    return to_word<hotplug::Zone, hotplug::kZoneCount>(value, hotplug::zone_name);
}
hotplug::OnlineType to_online_type(const Value& value) {
    return to_word<hotplug::OnlineType, 4>(value, hotplug::online_type_name);
}
hotplug::OnlinePolicy to_online_policy(const Value& value) {
    return to_word<hotplug::OnlinePolicy, 2>(value, hotplug::online_policy_name);
}
hotplug::MemmapOnMemory to_memmap_on_memory(const Value& value) {
    return to_word<hotplug::MemmapOnMemory, 3>(value, hotplug::memmap_on_memory_name);
}
hotplug::DeviceKind to_device_kind(const Value& value) {
    return to_word<hotplug::DeviceKind, 2>(value, hotplug::device_kind_name);
}
bool to_online_state(const Value& value) {
    // BlockState's first two values are Offline and Online; going-offline is not a boot state.
    return to_word<hotplug::BlockState, 2>(value, hotplug::block_state_name) ==
           hotplug::BlockState::Online;
}


std::span<const std::string_view> param_keys() {
    static const std::vector<std::string_view> keys = [] {
        std::vector<std::string_view> out;
        for (const hotplug::ParamSpec& param : hotplug::param_table()) out.push_back(param.name);
        return out;
    }();
    return keys;
}

hotplug::ParamValue to_param(const Value& value, const hotplug::ParamSpec& param, ParamsIn in) {
    using hotplug::ParamKind;
    switch (param.kind) {
        case ParamKind::OptionalBool:
            if (in == ParamsIn::State && value.json().is_null()) return std::nullopt;
            return to_bool(value) ? 1 : 0;
        case ParamKind::Bool: return to_bool(value) ? 1 : 0;
        case ParamKind::Uint: return to_uint(value, UINT_MAX);
        case ParamKind::Word: break;
    }
    const std::string& word = to_string(value);
    if (const auto index = param.find_word(word)) return *index;
    value.fail("unknown value " + quote(word) + "; expected one of " + join(param.words));
}

Json param_json(const hotplug::ParamSpec& param, hotplug::ParamValue value) {
    using hotplug::ParamKind;
    if (!value) return Json(nullptr);
    switch (param.kind) {
        case ParamKind::Bool:
        case ParamKind::OptionalBool: return Json(*value != 0);
        case ParamKind::Uint: return Json(*value);
        case ParamKind::Word: break;
    }
    return Json(std::string(param.word(*value)));
}

hotplug::Params to_params(const Value& value, hotplug::Params params, ParamsIn in) {
    const Fields fields(value, param_keys());
    for (const hotplug::ParamSpec& param : hotplug::param_table()) {
        const std::optional<Value> member =
            in == ParamsIn::State ? fields.require(param.name) : fields.get(param.name);
        if (member) param.set(params, to_param(*member, param, in));
    }
    return params;
}

Json params_json(const hotplug::Params& params) {
    Json out = Json::object();
    for (const hotplug::ParamSpec& param : hotplug::param_table())
        out[std::string(param.name)] = param_json(param, param.get(params));
    return out;
}

}  // namespace hotplugfs::config::detail
