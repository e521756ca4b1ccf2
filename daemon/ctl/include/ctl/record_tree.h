// What `hotplugctl record` learns from a memory-hotplug sysfs: the tree read through a small
// interface, turned into a configuration (docs/config.md) that serves the same tree.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hotplug/types.h"

namespace hotplugfs::ctl::record {

// A read-only sysfs root; paths are relative to it ("devices/system/memory/block_size_bytes").
class Tree {
  public:
    virtual ~Tree() = default;
    // A file's bytes, or nullopt when it does not exist. Other failures throw RecordError.
    virtual std::optional<std::string> read(const std::string& path) const = 0;
    // A directory's entry names, or nullopt when it does not exist (or is no directory).
    virtual std::optional<std::vector<std::string>> list(const std::string& path) const = 0;
    // The path as the user knows it, for messages.
    virtual std::string where(const std::string& path) const = 0;
};

// Input that cannot be recorded: `path` (as Tree::where gives it) and why.
class RecordError : public std::runtime_error {
  public:
    RecordError(std::string path, const std::string& reason)
        : std::runtime_error(path + ": " + reason), path_(std::move(path)) {}
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

struct Options {
    std::optional<hotplug::Arch> arch;  // the running kernel's or --arch; else inferred
    std::string arch_source;            // why `arch` ("the running kernel", "--arch")
    std::optional<uint64_t> pluggable;  // --pluggable: free space above the highest block
    std::string origin;                 // what was read ("/sys"), for the description
};

struct Recording {
    nlohmann::ordered_json config;
    hotplug::Arch arch = hotplug::Arch::X86_64;
    std::string arch_reason;         // how the architecture was decided
    std::vector<std::string> notes;  // what the tree could not tell (also in the description)
};

Recording record(const Tree& tree, const Options& options);

// "0-3,8" for {0, 1, 2, 3, 8}; ids ascending.
std::string id_list(const std::vector<uint64_t>& ids);
// Bytes as a config size: "512M", "2G", or "0x..." when no suffix divides it.
std::string size_text(uint64_t bytes);

}  // namespace hotplugfs::ctl::record
