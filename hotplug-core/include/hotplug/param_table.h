// The memory_hotplug module parameters and boot options, declared once. Every place a
// parameter appears — the configuration, the state file, its sysfs file, its D-Bus property
// and PropertiesChanged, GetState — walks this table; adding a parameter is a field in
// Params (params.h), a row here, and whatever model logic reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "hotplug/params.h"

namespace hotplug {

// A parameter's value, whatever its kind: a bool as 0/1, a word as its index in `words`.
// nullopt only for an OptionalBool that is not set.
using ParamValue = std::optional<uint64_t>;

enum class ParamKind : uint8_t {
    Bool,
    OptionalBool,  // absent unless the configuration sets it
    Uint,          // 0 to UINT_MAX
    Word,          // one of `words`
};

// Where the parameter's file is and how it prints a bool.
enum class ParamFile : uint8_t {
    None,          // a boot option without a file of its own
    MemoryRoot,    // devices/system/memory/NAME
    ModuleParams,  // module/memory_hotplug/parameters/NAME
};
enum class BoolText : uint8_t { YN, OneZero };  // "Y"/"N" (module bools), "1"/"0" (device attrs)

// What else a change of the parameter changes in the model's views.
enum class ZonesEffect : uint8_t { None, Always, UnderAutoMovable };

struct ParamSpec {
    std::string_view name;  // the config and state key, and the sysfs file's name
    ParamKind kind;
    std::span<const std::string_view> words;  // Word: the values, in enum order
    std::string_view what;                    // Word: what a value is ("online type")
    ParamFile file;
    uint16_t mode;  // the file's mode (0644 when writable at run time, else 0444)
    BoolText bool_text;
    std::string_view dbus;  // the Manager1 property, or empty; a literal (used as a C string)
    bool runtime;           // writable while serving (sysfs, SetParameter) and part of a state
    ZonesEffect zones;
    ParamValue (*get)(const Params&);
    void (*set)(Params&, ParamValue);

    // The word of a value (Word), the empty view for another value or kind.
    std::string_view word(uint64_t value) const {
        return kind == ParamKind::Word && value < words.size() ? words[value] : std::string_view();
    }
    // The index of `word` in `words`, or nullopt.
    std::optional<uint64_t> find_word(std::string_view word) const {
        for (size_t i = 0; i < words.size(); ++i)
            if (words[i] == word) return i;
        return std::nullopt;
    }
};

// Every parameter, in the order the configuration and the state file document them.
std::span<const ParamSpec> param_table();
// The row named `name`, or nullptr.
const ParamSpec* find_param(std::string_view name);

}  // namespace hotplug
