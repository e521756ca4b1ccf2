// The tree -> configuration part of `hotplugctl record`: pure (reads only through Tree).
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <set>

#include "ctl/record_tree.h"
#include "hotplug/param_table.h"

namespace hotplugfs::ctl::record {
namespace {

using hotplug::Arch;
using hotplug::Zone;
using Json = nlohmann::ordered_json;

const std::string kMem = "devices/system/memory";
const std::string kNode = "devices/system/node";
const std::string kParams = "module/memory_hotplug/parameters";

// A sysfs value without its one trailing newline.
std::string value_of(const std::string& text) {
    return !text.empty() && text.back() == '\n' ? text.substr(0, text.size() - 1) : text;
}

std::optional<uint64_t> parse_number(const std::string& text, int base) {
    uint64_t v = 0;
    const char* end = text.data() + text.size();
    const auto [at, ec] = std::from_chars(text.data(), end, v, base);
    if (text.empty() || ec != std::errc() || at != end) return std::nullopt;
    return v;
}

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::optional<Zone> zone_from_name(const std::string& name) {
    for (int z = 0; z < hotplug::kZoneCount; ++z)
        if (hotplug::zone_name(static_cast<Zone>(z)) == name) return static_cast<Zone>(z);
    return std::nullopt;
}

std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        const size_t end = text.find(' ', i);
        const size_t stop = end == std::string::npos ? text.size() : end;
        if (stop > i) out.push_back(text.substr(i, stop - i));
        i = stop + 1;
    }
    return out;
}

// "nodeK" or "memoryN" -> K or N.
std::optional<uint64_t> numbered(const std::string& name, const std::string& prefix) {
    if (name.rfind(prefix, 0) != 0) return std::nullopt;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
    return parse_number(digits, 10);
}

// Reads a file the tree must have.
std::string require(const Tree& tree, const std::string& path) {
    auto text = tree.read(path);
    if (!text) throw RecordError(tree.where(path), "missing (No such file or directory)");
    return value_of(*text);
}

std::optional<std::string> optional(const Tree& tree, const std::string& path) {
    auto text = tree.read(path);
    if (!text) return std::nullopt;
    return value_of(*text);
}

// One memoryN directory, as its files describe it.
struct Block {
    uint64_t id = 0;
    bool online = false;
    bool multi_zone = false;       // online, valid_zones "none"
    std::optional<Zone> zone;      // online: its zone (absent without valid_zones)
    std::vector<Zone> offers;      // offline: what valid_zones lists, in its order
    std::optional<uint64_t> node;  // its nodeK link
    std::optional<bool> removable;
    std::optional<uint64_t> phys_device;
};

void read_state(const Tree& tree, const std::string& dir, Block& b) {
    const std::string state = require(tree, dir + "/state");
    if (state != "online" && state != "offline" && state != "going-offline")
        throw RecordError(tree.where(dir + "/state"), "not a block state: '" + state + "'");
    b.online = state != "offline";
    if (auto online = optional(tree, dir + "/online")) {
        if (*online != "0" && *online != "1")
            throw RecordError(tree.where(dir + "/online"), "reads '" + *online + "', not 0 or 1");
        if ((*online == "1") != b.online)
            throw RecordError(tree.where(dir + "/online"),
                              "reads " + *online + " but state reads " + state);
    }
}

void read_zones(const Tree& tree, const std::string& dir, Block& b) {
    const auto text = optional(tree, dir + "/valid_zones");
    if (!text) return;
    const std::vector<std::string> names = words(*text);
    const std::string where = tree.where(dir + "/valid_zones");
    if (names.empty()) throw RecordError(where, "empty");
    if (b.online) {
        if (names.size() > 1)
            throw RecordError(where,
                              "lists several zones ('" + *text + "') but state reads online");
        if (names[0] == "none") {
            b.multi_zone = true;
            return;
        }
    }
    for (const auto& name : names) {
        const auto zone = zone_from_name(name);
        if (!zone)
            throw RecordError(where, name == "none" ? "reads none but state reads offline"
                                                    : "not a zone: '" + name + "'");
        if (b.online)
            b.zone = zone;
        else
            b.offers.push_back(*zone);
    }
}

void read_links(const Tree& tree, const std::string& dir, Block& b) {
    const auto entries = tree.list(dir);
    if (!entries) throw RecordError(tree.where(dir), "not a directory");
    for (const auto& name : *entries) {
        const auto node = numbered(name, "node");
        if (!node) continue;
        if (b.node)
            throw RecordError(tree.where(dir), std::string("links to node") +
                                                   std::to_string(*b.node) + " and " + name);
        b.node = node;
    }
}

Block read_block(const Tree& tree, uint64_t id) {
    const std::string dir = kMem + "/memory" + std::to_string(id);
    Block b;
    b.id = id;
    read_state(tree, dir, b);
    read_zones(tree, dir, b);
    read_links(tree, dir, b);
    if (auto index = optional(tree, dir + "/phys_index")) {
        if (parse_number(*index, 16) != id)
            throw RecordError(tree.where(dir + "/phys_index"),
                              "reads " + *index + ", not the index of memory" + std::to_string(id));
    }
    if (auto removable = optional(tree, dir + "/removable")) {
        if (*removable != "0" && *removable != "1")
            throw RecordError(tree.where(dir + "/removable"),
                              "reads '" + *removable + "', not 0 or 1");
        b.removable = *removable == "1";
    }
    if (auto phys = optional(tree, dir + "/phys_device")) {
        b.phys_device = parse_number(*phys, 10);
        if (!b.phys_device)
            throw RecordError(tree.where(dir + "/phys_device"), "not a number: '" + *phys + "'");
    }
    return b;
}

uint64_t read_block_size(const Tree& tree) {
    const std::string path = kMem + "/block_size_bytes";
    const std::string text = require(tree, path);
    const auto bs = parse_number(text, 16);
    if (!bs || *bs == 0 || (*bs & (*bs - 1)) != 0)
        throw RecordError(tree.where(path), "not a block size: '" + text + "'");
    return *bs;
}

std::vector<Block> read_blocks(const Tree& tree, const std::vector<std::string>& entries) {
    std::vector<uint64_t> ids;
    for (const auto& name : entries)
        if (auto id = numbered(name, "memory")) ids.push_back(*id);
    if (ids.empty()) throw RecordError(tree.where(kMem), "no memoryN block directories");
    std::sort(ids.begin(), ids.end());
    std::vector<Block> blocks;
    for (uint64_t id : ids) blocks.push_back(read_block(tree, id));
    return blocks;
}

// --- architecture ------------------------------------------------------------------------------
struct ArchGuess {
    Arch arch;
    std::string reason;
};

ArchGuess infer_arch(const std::vector<Block>& blocks, uint64_t block_size) {
    std::set<Zone> zones;
    bool none_at_0 = false, low_normal = false, phys = false;
    for (const auto& b : blocks) {
        if (b.zone) zones.insert(*b.zone);
        for (Zone z : b.offers) zones.insert(z);
        if (b.id == 0 && b.multi_zone) none_at_0 = true;
        if (b.zone == Zone::Normal && (b.id + 1) * block_size <= (2ull << 30)) low_normal = true;
        if (b.phys_device.value_or(0) != 0) phys = true;
    }
    const bool dma = zones.count(Zone::DMA), dma32 = zones.count(Zone::DMA32);
    if (phys) return {Arch::S390x, "phys_device is non-zero, which only s390x shows"};
    if (block_size % (128ull << 20) != 0)
        return {Arch::Ppc64, "the block size is below 128 MiB, which only ppc64 allows"};
    if (dma && !dma32) return {Arch::S390x, "a DMA zone without DMA32, as on s390x"};
    if (dma32 && !dma && !none_at_0) return {Arch::Arm64, "a DMA32 zone without DMA, as on arm64"};
    if (dma || dma32) return {Arch::X86_64, "DMA and DMA32 zones, as on x86_64"};
    if (low_normal) return {Arch::Ppc64, "Normal memory below 2 GiB and no DMA zone, as on ppc64"};
    return {Arch::X86_64, "nothing in the tree tells; assumed x86_64"};
}

void check_zones(const Tree& tree, const std::vector<Block>& blocks, uint64_t bs, Arch arch) {
    for (const auto& b : blocks) {
        std::vector<Zone> named = b.offers;
        if (b.zone) named.push_back(*b.zone);
        for (Zone z : named) {
            const auto fit = hotplug::zone_fit(arch, z, (b.id + 1) * bs);
            if (fit == hotplug::ZoneFit::Fits || (!b.online && fit == hotplug::ZoneFit::AboveLimit))
                continue;
            const std::string path = kMem + "/memory" + std::to_string(b.id) + "/valid_zones";
            const std::string zone(hotplug::zone_name(z));
            throw RecordError(
                tree.where(path),
                fit == hotplug::ZoneFit::NoSuchZone
                    ? zone + " does not exist on " + std::string(hotplug::arch_name(arch))
                    : zone + " ends at " + hex(hotplug::arch_zone_limit(arch, z)) +
                          ", below the block's end " + hex((b.id + 1) * bs));
        }
    }
}

// --- nodes ------------------------------------------------------------------------------------
struct NodeFacts {
    std::optional<std::string> cpus;
    std::optional<std::vector<int>> distance;
    std::optional<uint64_t> used_kb;
};

std::vector<int> parse_distance(const Tree& tree, const std::string& path, const std::string& t) {
    std::vector<int> out;
    for (const auto& w : words(t)) {
        const auto v = parse_number(w, 10);
        if (!v || *v > 255) throw RecordError(tree.where(path), "not a distance list: '" + t + "'");
        out.push_back(static_cast<int>(*v));
    }
    return out;
}

std::optional<uint64_t> mem_used_kb(const std::string& meminfo) {
    const size_t at = meminfo.find("MemUsed:");
    if (at == std::string::npos) return std::nullopt;
    size_t i = at + 8;
    while (i < meminfo.size() && meminfo[i] == ' ') ++i;
    size_t end = i;
    while (end < meminfo.size() && meminfo[end] >= '0' && meminfo[end] <= '9') ++end;
    return parse_number(meminfo.substr(i, end - i), 10);
}

NodeFacts read_node(const Tree& tree, uint64_t id) {
    const std::string dir = kNode + "/node" + std::to_string(id);
    NodeFacts n;
    n.cpus = optional(tree, dir + "/cpulist");
    if (auto d = optional(tree, dir + "/distance"))
        n.distance = parse_distance(tree, dir + "/distance", *d);
    if (auto m = optional(tree, dir + "/meminfo")) {
        n.used_kb = mem_used_kb(*m);
        if (!n.used_kb) throw RecordError(tree.where(dir + "/meminfo"), "no MemUsed line");
    }
    return n;
}

// --- the configuration ------------------------------------------------------------------------
// Blocks that go into one memory range: consecutive and alike in everything a range fixes.
bool same_range(const Block& a, const Block& b) {
    return b.id == a.id + 1 && a.node == b.node && a.online == b.online && a.zone == b.zone &&
           a.multi_zone == b.multi_zone;
}

// Offline memory and memory onlined to Movable is taken for hot-added memory: boot memory is
// onlined by the kernel to the kernel zones.
bool hotplugged(const Block& b) {
    return !b.online || b.zone == Zone::Movable;
}

Json memory_ranges(const std::vector<Block>& blocks, uint64_t bs, bool many_nodes) {
    Json out = Json::array();
    for (size_t i = 0; i < blocks.size();) {
        size_t j = i + 1;
        while (j < blocks.size() && same_range(blocks[j - 1], blocks[j])) ++j;
        const Block& b = blocks[i];
        Json r = {{"start", hex(b.id * bs)}, {"size", size_text((j - i) * bs)}};
        if (many_nodes) r["node"] = b.node.value_or(0);
        if (!b.online) r["state"] = "offline";
        if (b.zone) r["zone"] = std::string(hotplug::zone_name(*b.zone));
        if (hotplugged(b)) r["hotplugged"] = true;
        out.push_back(std::move(r));
        i = j;
    }
    return out;
}

class Recorder {
  public:
    Recorder(const Tree& tree, const Options& options) : tree_(tree), options_(options) {}

    Recording run() {
        const auto entries = tree_.list(kMem);
        if (!entries)
            throw RecordError(tree_.where(kMem),
                              "no memory-hotplug tree here (No such file or directory)");
        bs_ = read_block_size(tree_);
        blocks_ = read_blocks(tree_, *entries);
        decide_arch();
        check_zones(tree_, blocks_, bs_, out_.arch);
        Json& c = out_.config;
        c["description"] = "";
        c["arch"] = std::string(hotplug::arch_name(out_.arch));
        c["block_size"] = size_text(bs_);
        c["nodes"] = nodes();
        c["memory"] = memory_ranges(blocks_, bs_, c["nodes"].size() > 1);
        pluggable();
        multi_zone();
        removable();
        phys_device();
        c["parameters"] = parameters(*entries);
        describe();
        return std::move(out_);
    }

  private:
    void decide_arch() {
        if (options_.arch) {
            out_.arch = *options_.arch;
            out_.arch_reason = options_.arch_source;
            return;
        }
        const ArchGuess guess = infer_arch(blocks_, bs_);
        out_.arch = guess.arch;
        out_.arch_reason = guess.reason;
    }

    // From devices/system/node when the tree has it, else from the blocks' links.
    Json nodes() {
        std::set<uint64_t> ids;
        const auto entries = tree_.list(kNode);
        if (entries)
            for (const auto& name : *entries)
                if (auto id = numbered(name, "node")) ids.insert(*id);
        const bool listed = !ids.empty();
        for (const auto& b : blocks_) {
            if (!b.node) continue;
            if (listed && !ids.count(*b.node))
                throw RecordError(tree_.where(kMem + "/memory" + std::to_string(b.id)),
                                  std::string("links to node") + std::to_string(*b.node) +
                                      ", which " + tree_.where(kNode) + " lacks");
            ids.insert(*b.node);
        }
        if (!listed) note("no " + kNode + ": nodes from the blocks' links, without CPUs");
        if (std::any_of(blocks_.begin(), blocks_.end(), [](const Block& b) { return !b.node; }))
            note("blocks without a node link are on node 0 (the served tree links every block)");
        const uint64_t count = ids.empty() ? 1 : *ids.rbegin() + 1;
        if (count > 1024) throw RecordError(tree_.where(kNode), "more than 1024 nodes");
        if (ids.size() != count && !ids.empty())
            note("node ids have gaps; the missing nodes are added without memory or CPUs");
        std::vector<NodeFacts> facts(count);
        if (listed)
            for (uint64_t id : ids) facts[id] = read_node(tree_, id);
        const bool distances = std::all_of(facts.begin(), facts.end(), [&](const NodeFacts& n) {
            return n.distance && n.distance->size() == count;
        });
        if (listed && !distances) note("node distances are the defaults (10 local, 20 remote)");
        Json out = Json::array();
        for (uint64_t id = 0; id < count; ++id) {
            Json n = {{"id", id}};
            if (facts[id].cpus) n["cpus"] = *facts[id].cpus;
            if (distances) n["distance"] = *facts[id].distance;
            if (facts[id].used_kb) n["kernel_used"] = std::to_string(*facts[id].used_kb) + "K";
            out.push_back(std::move(n));
        }
        return out;
    }

    void pluggable() {
        if (!options_.pluggable) {
            note("no pluggable space: probe and device plugs find no room (--pluggable adds it)");
            return;
        }
        if (*options_.pluggable == 0 || *options_.pluggable % bs_ != 0)
            throw RecordError(
                "--pluggable",
                std::string("not a non-zero multiple of the block size ") + size_text(bs_));
        const Block& top = blocks_.back();
        Json r = {{"start", hex((top.id + 1) * bs_)}, {"size", size_text(*options_.pluggable)}};
        if (out_.config["nodes"].size() > 1) r["node"] = top.node.value_or(0);
        out_.config["pluggable"] = Json::array({std::move(r)});
    }

    void multi_zone() {
        std::vector<uint64_t> ids;
        for (const auto& b : blocks_)
            if (b.multi_zone) ids.push_back(b.id);
        if (!ids.empty()) out_.config["multi_zone"] = id_list(ids);
    }

    void removable() {
        size_t yes = 0, no = 0;
        for (const auto& b : blocks_) (b.removable.value_or(true) ? yes : no) += 1;
        if (no > yes) out_.config["removable"] = false;
        if (yes && no)
            note(std::string("removable reads ") + std::string(no > yes ? "0" : "1") +
                 " for every block (" + std::to_string(std::min(yes, no)) + " read otherwise)");
    }

    // s390x: phys_device is the storage increment a block starts in.
    void phys_device() {
        std::optional<uint64_t> increment;
        bool fits = true, any = false;
        for (const auto& b : blocks_) {
            const uint64_t phys = b.phys_device.value_or(0);
            if (phys == 0 && b.id != 0) {
                fits = false;
                continue;
            }
            if (phys == 0) continue;
            any = true;
            const uint64_t inc = b.id * bs_ / phys;
            if (inc == 0 || (inc & (inc - 1)) != 0 || b.id * bs_ / inc != phys ||
                (increment && *increment != inc))
                fits = false;
            increment = inc;
        }
        if (!any) return;
        if (fits && increment) {
            out_.config["storage_increment"] = size_text(*increment);
            return;
        }
        note("phys_device reads 0 (the tree's values follow no storage increment)");
    }

    Json parameters(const std::vector<std::string>& entries) {
        Json p = Json::object();
        auto has = [&](const char* name) {
            return std::find(entries.begin(), entries.end(), name) != entries.end();
        };
        // Boot options without a file of their own, told by the files they make appear.
        p["probe"] = has("probe");
        if (has("soft_offline_page") || has("hard_offline_page")) p["memory_failure"] = true;
        table_parameters(p);
        note("movable_node is off (a boot option the tree does not show)");
        return p;
    }

    // Every parameter with a file of its own, by its row of hotplug::param_table(): read in the
    // file's format, written in the configuration's. A file that is absent keeps the default
    // (crash_hotplug exists only when set).
    void table_parameters(Json& p) {
        const auto names = tree_.list(kParams);
        if (!names) note("no " + kParams + ": the module parameters are the defaults");
        for (const hotplug::ParamSpec& param : hotplug::param_table()) {
            if (param.file == hotplug::ParamFile::None) continue;
            const std::string name(param.name);
            const std::string path =
                (param.file == hotplug::ParamFile::MemoryRoot ? kMem : kParams) + "/" + name;
            if (const auto text = optional(tree_, path)) p[name] = param_value(param, path, *text);
        }
        std::vector<std::string> unknown;
        for (const auto& name : names.value_or(std::vector<std::string>{}))
            if (!hotplug::find_param(name)) unknown.push_back(name);
        std::sort(unknown.begin(), unknown.end());
        for (const auto& name : unknown) note(name + " is not reproduced");
    }

    Json param_value(const hotplug::ParamSpec& param, const std::string& path,
                     const std::string& text) {
        switch (param.kind) {
            case hotplug::ParamKind::Word:
                if (param.find_word(text)) return text;
                break;
            case hotplug::ParamKind::Uint:
                if (const auto v = parse_number(text, 10); v && *v <= 0xffffffffull) return *v;
                break;
            case hotplug::ParamKind::Bool:
            case hotplug::ParamKind::OptionalBool: {
                const bool yn = param.bool_text == hotplug::BoolText::YN;
                if (text == (yn ? "Y" : "1")) return true;
                if (text == (yn ? "N" : "0")) return false;
                break;
            }
        }
        throw RecordError(tree_.where(path), "unexpected value '" + text + "'");
    }

    void describe() {
        std::string text = "Recorded by hotplugctl record from " + options_.origin + " (" +
                           std::string(hotplug::arch_name(out_.arch)) + ": " + out_.arch_reason +
                           "). Assumed: no unmovable pages or memory holes (every offline "
                           "succeeds); online kernel-zone memory is boot memory, offline and "
                           "Movable memory hot-added";
        for (const auto& n : out_.notes) text += "; " + n;
        out_.config["description"] = text + ".";
    }

    void note(std::string text) { out_.notes.push_back(std::move(text)); }

    const Tree& tree_;
    const Options& options_;
    uint64_t bs_ = 0;
    std::vector<Block> blocks_;
    Recording out_;
};

}  // namespace

std::string id_list(const std::vector<uint64_t>& ids) {
    std::string out;
    for (size_t i = 0; i < ids.size();) {
        size_t j = i;
        while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(ids[i]);
        if (j > i) out += std::string("-") + std::to_string(ids[j]);
        i = j + 1;
    }
    return out;
}

std::string size_text(uint64_t bytes) {
    static const char kSuffix[] = "KMGTP";
    std::string best = hex(bytes);
    for (int i = 0; i < 5 && bytes; ++i) {
        const uint64_t unit = 1ull << (10 * (i + 1));
        if (bytes % unit) break;
        best = std::to_string(bytes / unit) + kSuffix[i];
    }
    return best;
}

Recording record(const Tree& tree, const Options& options) {
    return Recorder(tree, options).run();
}

}  // namespace hotplugfs::ctl::record
