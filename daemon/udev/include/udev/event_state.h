// The state of one event while the rules run over it (what udevd keeps in its UdevEvent).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "udev/rules.h"

namespace hotplugfs::udev {

enum class Escape { Unset, None, Replace };  // OPTIONS="string_escape=..."

class EventState {
  public:
    EventState(const Event& event, DeviceAccess& device);

    DeviceAccess& device;
    RuleOutcome out;  // properties live in out.properties
    std::string devpath;
    std::string kernel;  // last component of DEVPATH
    std::optional<std::string> program_result;
    // The device on which the parent keys of the last line matched (udev's dev_parent): $attr
    // falls back to it, %b and %d read it.
    std::optional<std::string> dev_parent;
    Escape esc = Escape::Unset;
    bool run_final = false;
    std::vector<std::pair<std::string, bool>> run_list;  // command, is a builtin

    const std::string* property(std::string_view key) const;
    void set_property(const std::string& key, const std::string& value);
    void erase_property(std::string_view key);

    // A sysfs attribute as sd-device reads it: trailing newlines dropped, the value cached for the
    // rest of the event (so a rule reading an attribute after ATTR{}= wrote it sees the old value,
    // as with udevd).
    std::optional<std::string> read_attr(const std::string& path, const std::string& attr);
    void forget_attr(const std::string& path, const std::string& attr);

    std::string subsystem_of(const std::string& path);
    std::string driver_of(const std::string& path);
    bool has_devnum() const;

    // Logs "FILE:LINE message" for the line being evaluated.
    void log(const std::string& message);
    void set_position(const RuleFile* file, const RuleLine* line) {
        file_ = file;
        line_ = line;
    }
    const RuleFile* file() const { return file_; }
    const RuleLine* line() const { return line_; }

  private:
    std::map<std::pair<std::string, std::string>, std::string> attr_cache_;
    const RuleFile* file_ = nullptr;
    const RuleLine* line_ = nullptr;
};

std::string sysname_of(std::string_view devpath);
std::string sysnum_of(std::string_view sysname);

}  // namespace hotplugfs::udev
