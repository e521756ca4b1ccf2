// Topology config loader: turns a JSON machine description (docs/config.md) into a
// hotplug::MachineSpec, or into one precise error naming the offending value.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "hotplug/spec.h"

namespace hotplugfs::config {

// Why a config was rejected. `json_path` is a JSON Pointer to the offending value ("/" for the
// document itself), or "line L, column C" for syntax errors, or empty when the file could not
// be read at all.
struct ConfigError {
    std::string file;
    std::string json_path;
    std::string reason;

    // One line: "<file>: <json_path>: <reason>" (or "<file>: <reason>" without a path).
    std::string message() const;
};

using LoadResult = std::variant<hotplug::MachineSpec, ConfigError>;

// Reads and validates a config file. The returned spec is known to build a Machine.
LoadResult load_config_file(const std::string& path);

// Same for text already in memory; `name` stands in for the file name in errors.
LoadResult load_config_text(std::string_view text, const std::string& name);

}  // namespace hotplugfs::config
