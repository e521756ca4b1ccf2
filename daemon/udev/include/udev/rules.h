// The udev rule language as systemd-udevd 252 parses and applies it, over an abstract device.
//
// Pure library: it reads and writes the world only through DeviceAccess, so the daemon can apply
// rules to its emulated sysfs and the tests to an in-memory fake.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "udev/rule_model.h"

namespace hotplugfs::udev {

struct ParseError {
    std::string file;
    unsigned line;  // 0 = the whole file
    std::string message;
};

using Properties = std::vector<std::pair<std::string, std::string>>;  // ordered KEY=VALUE

class RuleSet {
  public:
    // Parses one rules file. Bad lines are recorded in errors() and skipped; the rest applies.
    void add_file(const std::string& path, std::string_view text);
    // Records a file that could not be read (line 0).
    void add_error(ParseError error) { errors_.push_back(std::move(error)); }

    // What udev logs as errors while loading (a line with one of these is skipped, except
    // "Invalid value" format complaints, which udev logs and then keeps the token).
    const std::vector<ParseError>& errors() const { return errors_; }
    // What udev logs as warnings or notices while loading; the lines still apply.
    const std::vector<ParseError>& warnings() const { return warnings_; }
    // Number of rule lines kept after parsing (lines that take effect, label lines included).
    std::size_t rule_lines() const;
    const std::vector<RuleFile>& files() const { return files_; }

  private:
    friend class LineParser;
    std::vector<RuleFile> files_;
    std::vector<ParseError> errors_;
    std::vector<ParseError> warnings_;
};

// Loads *.rules files (regular files or symlinks; other names ignored) from `dirs`. Order: lexical
// by file name over all dirs; a file name in a later dir replaces the same name in an earlier one.
// An unreadable file is a ParseError (line 0). A symlink to /dev/null masks the name.
RuleSet load_rules(const std::vector<std::string>& dirs);

struct ProgramResult {
    int exit_status = -1;  // -1: did not run or was killed
    std::string out;
};

// The world as the rules see it (the daemon implements it over its sysfs tree).
class DeviceAccess {
  public:
    virtual ~DeviceAccess() = default;
    // devpath like "/devices/system/memory/memory6"; attr like "state" or "power/control".
    virtual std::optional<std::string> read_attr(const std::string& devpath,
                                                 const std::string& attr) = 0;
    // 0 or a positive errno.
    virtual int write_attr(const std::string& devpath, const std::string& attr,
                           const std::string& value) = 0;
    virtual std::optional<std::string> parent(const std::string& devpath) = 0;
    virtual std::string subsystem(const std::string& devpath) = 0;  // "" if none
    virtual std::string driver(const std::string& devpath) = 0;     // "" if none
    // Absolute path (may be /sys/...). mode_mask 0 = existence; otherwise true if the file exists
    // and (st_mode & mode_mask) != 0.
    virtual bool test_path(const std::string& path, unsigned mode_mask) = 0;
    // PROGRAM and IMPORT{program}. argv[0] is absolute (udev prefixes /usr/lib/udev/ to a
    // relative name); env is the device's properties.
    virtual ProgramResult run_program(const std::vector<std::string>& argv,
                                      const Properties& env) = 0;
    // CONST{arch}, CONST{virt}, CONST{cgroup}: "" if unknown.
    virtual std::string const_value(const std::string& key) = 0;
};

// Kernel uevent: ACTION, DEVPATH, SUBSYSTEM, [SYNTH_UUID, SYNTH_ARG_*], SEQNUM in that order.
struct Event {
    Properties properties;
};

struct AttrWrite {
    std::string file;
    unsigned line;
    std::string attr;
    std::string value;
    int error;  // 0 or errno
};

struct MatchedLine {
    std::string file;
    unsigned line;
    std::string text;
};

struct RuleOutcome {
    // The event's properties after ENV assignments and IMPORTs (original keys first, then new ones
    // in assignment order; ENV{K}="" deletes).
    Properties properties;
    std::vector<std::string> run;  // RUN / RUN{program} commands after substitution, in order
    std::vector<std::string> run_builtin;  // RUN{builtin} commands (not programs), in order
    std::vector<std::string> tags;         // TAG assignments, in order of first addition
    std::vector<MatchedLine> matched;      // rule lines whose match keys all matched, in order
    std::vector<AttrWrite> attr_writes;
    std::vector<std::string> log;  // what udev would log: "FILE:LINE ..." messages
};

RuleOutcome apply_rules(const RuleSet& rules, const Event& event, DeviceAccess& device);

}  // namespace hotplugfs::udev
