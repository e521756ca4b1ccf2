// The config loader's document level: JSON parsing (with repeated-key detection), the
// sections of docs/config.md, and the cross-checks between them. Each check fails at the JSON
// Pointer of the value that is wrong, so the user is told exactly what to fix.
#include "config/config_loader.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#include "config/config_sections.h"
#include "config/config_values.h"
#include "hotplug/machine.h"
#include "support/printable.h"

namespace hotplugfs::config {
namespace {

using namespace detail;

// nlohmann keeps only one of two equal keys in an object; a repeated key is almost always a
// mistake, so this parser callback reports it. It follows the container nesting to know the
// JSON Pointer of the repetition.
class RepeatedKeyCheck {
  public:
    bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
        using Event = Json::parse_event_t;
        switch (event) {
            case Event::object_start:
                start_container(false);
                break;
            case Event::array_start:
                start_container(true);
                break;
            case Event::object_end:
            case Event::array_end:
                frames_.pop_back();
                break;
            case Event::key:
                note_key(parsed.get_ref<const std::string&>());
                break;
            case Event::value:
                begin_element();
                break;
        }
        return true;  // keep every value
    }

  private:
    struct Frame {
        bool array = false;
        size_t next_index = 0;
        std::string token;  // reference token of the member or element being parsed
        std::set<std::string> keys;
    };

    void begin_element() {
        if (!frames_.empty() && frames_.back().array)
            frames_.back().token = std::to_string(frames_.back().next_index++);
    }
    void start_container(bool array) {
        begin_element();
        frames_.push_back(Frame{array, 0, {}, {}});
    }
    void note_key(const std::string& key) {
        Frame& object = frames_.back();
        if (!object.keys.insert(key).second)
            throw Invalid{pointer_append(innermost_pointer(), key),
                          "duplicate key \"" + key + "\" in the same object"};
        object.token = key;
    }
    std::string innermost_pointer() const {
        std::string pointer;
        for (size_t i = 0; i + 1 < frames_.size(); ++i)
            pointer = pointer_append(pointer, frames_[i].token);
        return pointer;
    }

    std::vector<Frame> frames_;
};


hotplug::MachineSpec parse_document(const Json& root) {
    const Fields doc(Value(root, ""),
                     {"description", "arch", "virt", "block_size", "nodes", "memory", "pluggable", "holes",
                      "unmovable", "multi_zone", "devices", "block_faults", "parameters", "removable",
                      "storage_increment"});
    hotplug::MachineSpec spec;
    if (auto v = doc.get("description")) to_string(*v);  // free text for humans, type-checked
    if (auto v = doc.get("arch")) spec.arch = to_arch(*v);
    if (auto v = doc.get("virt")) spec.virt = to_virt(*v);
    // The struct's 128 MiB default is invalid where sections are larger (s390x).
    spec.block_size = std::max(spec.block_size, hotplug::arch_section_size(spec.arch));
    if (auto v = doc.get("block_size")) spec.block_size = parse_block_size(*v, spec.arch);
    spec.nodes = parse_nodes(doc.get("nodes"));
    const Layout layout{spec.arch, spec.block_size, spec.nodes.size()};
    if (auto v = doc.get("memory")) spec.memory = parse_memory(*v, layout);
    if (auto v = doc.get("pluggable")) spec.pluggable = parse_pluggable(*v, layout);
    if (auto v = doc.get("devices")) spec.devices = parse_devices(*v, layout, spec);
    // Plugged device memory is present too: block lists and faults may name it.
    const std::vector<hotplug::MemoryRangeSpec> ranges = present_ranges(spec);
    const PresentBlocks present(ranges, spec.block_size);
    if (auto v = doc.get("holes")) spec.holes = parse_block_list(*v, present, BlockNeed::Boot);
    if (auto v = doc.get("unmovable"))
        spec.unmovable = parse_block_list(*v, present, BlockNeed::Present);
    if (auto v = doc.get("multi_zone"))
        spec.multi_zone = parse_block_list(*v, present, BlockNeed::OnlineBoot);
    if (auto v = doc.get("block_faults")) spec.block_faults = parse_block_faults(*v, present);
    if (auto v = doc.get("parameters")) spec.params = to_params(*v, spec.params, ParamsIn::Config);
    if (auto v = doc.get("removable")) spec.removable = to_bool(*v);
    if (auto v = doc.get("storage_increment")) {
        spec.storage_increment = to_size(*v);
        const uint64_t inc = spec.storage_increment;
        if (inc == 0 || (inc & (inc - 1)) != 0) v->fail("not a power of two");
    }
    return spec;
}

// nlohmann words syntax errors as "[json.exception.parse_error.101] parse error at line 3,
// column 5: syntax error while ..."; the position becomes the path, the rest the reason.
ConfigError syntax_error(const std::string& name, const Json::parse_error& error) {
    const std::string what = error.what();
    constexpr std::string_view kAt = "parse error at ";
    const size_t at = what.find(kAt);
    const size_t colon = at == std::string::npos ? at : what.find(": ", at);
    if (colon == std::string::npos)
        return ConfigError{name, "byte " + std::to_string(error.byte), what};
    const size_t position = at + kAt.size();
    return ConfigError{name, what.substr(position, colon - position), what.substr(colon + 2)};
}

// Other nlohmann errors (a number too large for a double) carry no position.
ConfigError json_error(const std::string& name, const Json::exception& error) {
    std::string what = error.what();
    const size_t tag_end = what.find("] ");
    if (tag_end != std::string::npos) what.erase(0, tag_end + 2);
    return ConfigError{name, "/", what};
}

std::optional<std::string> read_whole_file(const std::string& path, std::string& failure) {
    const std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!file) {
        failure = "cannot open: " + std::string(std::strerror(errno));
        return std::nullopt;
    }
    std::string text;
    char buf[65536];
    size_t got = 0;
    while ((got = std::fread(buf, 1, sizeof buf, file.get())) > 0) text.append(buf, got);
    if (std::ferror(file.get())) {
        failure = "cannot read: " + std::string(std::strerror(errno));
        return std::nullopt;
    }
    return text;
}

}  // namespace

std::string ConfigError::message() const {
    std::string line = file + ": " + (json_path.empty() ? "" : json_path + ": ") + reason;
    return printable(line);  // callers print exactly one line
}

LoadResult load_config_text(std::string_view text, const std::string& name) {
    hotplug::MachineSpec spec;
    try {
        const Json root = Json::parse(text, RepeatedKeyCheck{});
        spec = parse_document(root);
    } catch (const Invalid& invalid) {
        return ConfigError{name, invalid.json_path.empty() ? "/" : invalid.json_path,
                           invalid.reason};
    } catch (const Json::parse_error& error) {
        return syntax_error(name, error);
    } catch (const Json::exception& error) {
        return json_error(name, error);
    }
    // The checks above name the exact value; the model's own validation is the backstop for
    // anything they do not cover.
    const auto machine = hotplug::Machine::build(spec);
    if (!machine) return ConfigError{name, "/", machine.error().message};
    return spec;
}

LoadResult load_config_file(const std::string& path) {
    std::string failure;
    const auto text = read_whole_file(path, failure);
    if (!text) return ConfigError{path, "", failure};
    return load_config_text(*text, path);
}

}  // namespace hotplugfs::config
