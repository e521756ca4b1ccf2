// hotplugfs-bench: measures hotplugfsd against the host's kernel sysfs and a tmpfs copy of the
// emulated tree, all in one run on one machine, and checks the results against the targets.
//
//   hotplugfs-bench --daemon build-release/daemon/hotplugfsd --out bench/out/results.json
//
// Rows (see docs/performance.md, "Benchmark suite"); the daemon runs in its default (exact) mode
// unless a row says --fast:
//   a  cached read of state (a: × the floor server, a1: × LXCFS, a2: --fast × kernel),
//      a3 read of a file that cannot change; F: the floor server (bench/floor_server.cpp),
//      L: LXCFS's sys/devices/system/cpu/online, all measured in the same loop
//   b  first read after a change    e  state write (vs the kernel's harmless EINVAL write)
//   c  stat()                       f  end-to-end hot-add per block (DIMM plug + udev rule)
//   d  lsmem-like scan per block    g  scale: start-up time, RSS, lsmem on 65,536 blocks
//                                      (default mode and --fast)
#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"

namespace bench {
namespace {

using json = nlohmann::ordered_json;

constexpr uint64_t kBlock128M = 128ull << 20;
constexpr uint64_t kProbeBase = 17ull << 30;  // 17 GiB: first free pluggable address
constexpr int kHotAddBlocks = 512;
constexpr const char* kLxcfsFile = "sys/devices/system/cpu/online";  // what row L reads

constexpr const char* kUsage =
    "Usage: hotplugfs-bench --daemon PATH [--out FILE.json] [--quick] [--only LIST]\n"
    "                       [--kernel-sysfs DIR] [--rules-dir DIR] [--daemon-arg ARG]...\n"
    "                       [--floor PATH] [--lxcfs PATH|none]\n"
    "\n"
    "Benchmarks hotplugfsd against the host's kernel memory sysfs and a tmpfs copy of the\n"
    "emulated tree. Needs root (it mounts a tmpfs and FUSE file systems under /tmp and writes\n"
    "one harmless value to a kernel state file). Starts and stops its own daemons.\n"
    "\n"
    "  --daemon PATH   the hotplugfsd executable to measure (required)\n"
    "  --out FILE      also write the results as JSON to FILE\n"
    "  --quick         fewer iterations (a smoke run; numbers are noisier)\n"
    "  --only LIST     run only these rows, e.g. a,c,g (default: a-g)\n"
    "  --kernel-sysfs DIR  the sysfs holding the kernel baseline (default: /sys); a DIR\n"
    "                  without devices/system/memory skips the kernel baseline\n"
    "  --rules-dir DIR the onlining rules row f gives the daemon (default: the shipped\n"
    "                  udev-rules/ of the source tree)\n"
    "  --daemon-arg ARG  one more argument for the default-mode daemon that rows a, a1,\n"
    "                  a3 and b-e measure, e.g. --daemon-arg --fast; repeatable (rows a2\n"
    "                  and f-g start their own daemons without it)\n"
    "  --floor PATH    the floor server (default: hotplugfs-floor next to this program)\n"
    "  --lxcfs PATH    the lxcfs of row L (default: lxcfs from PATH, /usr/bin, /usr/sbin;\n"
    "                  none, or not found: row L and a1's target are skipped)\n"
    "  -h, --help      show this help\n";

// ---- options and iteration counts -----------------------------------------------------------

struct Options {
    std::string daemon;
    std::optional<std::string> out;
    bool quick = false;
    std::string only = "abcdefg";
    std::string kernel_sysfs = "/sys";
    std::string rules_dir = HOTPLUGFS_RULES_DIR;  // the shipped onlining rule, for row f
    std::vector<std::string> daemon_args;         // extra arguments of the rows a-e daemon
    std::string floor;                            // the floor server executable
    std::string lxcfs;                            // lxcfs, or empty: not installed / none
    bool lxcfs_none = false;                      // --lxcfs none
};

struct Counts {
    size_t warmup, iters;              // a, c: per target
    size_t write_warmup, write_iters;  // b, e: even, so the block ends offline again
    size_t scans;                      // d: measured scans per target (after 2 warm-up scans)
    size_t hotadd_reps;                // f: fresh daemon each
    size_t starts;                     // g: starts per machine size
    size_t lookups;                    // g: stat()s after start
};

Counts counts_for(bool quick) {
    if (quick) return Counts{200, 2000, 100, 2000, 20, 2, 1, 100000};
    return Counts{2000, 20000, 500, 20000, 200, 5, 3, 1000000};
}

// ---- results --------------------------------------------------------------------------------

struct Row {
    std::string id, name, unit;
    std::optional<Summary> ours;
    std::optional<double> kernel_p50, tmpfs_p50;
    std::optional<double> ratio_kernel, ratio_tmpfs;
    std::string target;                  // "≤ 1.0× kernel", empty: informational row
    std::optional<double> target_value;  // the measured quantity the target limits
    std::optional<double> target_limit;
    std::string target_unit;  // "x" or "s" or "MiB"
    std::string why_unmet;    // why the target could not be judged, or why it failed
    std::string ref_name;     // a target relative to another server: its name and p50
    std::optional<double> ref_p50;
    bool failed = false;      // wrong results: the target is not met whatever the timing
    json details = json::object();

    std::optional<bool> met() const {
        if (failed) return false;
        if (!target_value || !target_limit) return std::nullopt;
        return *target_value <= *target_limit;
    }
};

std::optional<double> ratio(const std::optional<Summary>& a, const std::optional<double>& b) {
    if (!a || !b || *b <= 0) return std::nullopt;
    return a->p50 / *b;
}

json summary_json(const Summary& s) {
    return json{{"n", s.n},     {"min", s.min}, {"p50", s.p50},  {"p90", s.p90},
                {"p99", s.p99}, {"max", s.max}, {"mean", s.mean}};
}

json opt_json(const std::optional<double>& v) {
    return v ? json(*v) : json(nullptr);
}

std::string num(const std::optional<double>& v, const char* suffix = "");

// ---- measurement helpers --------------------------------------------------------------------

// A timed operation on one target; returns false if the result was wrong (the loop throws).
struct Target {
    std::string name;
    std::function<bool()> op;
    std::vector<double> samples;  // microseconds
};

// Warm-up, then `iters` timed calls per target, interleaved in chunks so that drift and noise
// (other processes on the machine) hit every target alike.
void measure(std::vector<Target*> targets, size_t warmup, size_t iters, size_t chunk = 500) {
    for (Target* t : targets) {
        for (size_t i = 0; i < warmup; ++i)
            if (!t->op()) throw Error(t->name + ": unexpected result during warm-up");
        t->samples.reserve(iters);
    }
    for (size_t done = 0; done < iters; done += chunk) {
        check_interrupted();
        const size_t n = std::min(chunk, iters - done);
        for (Target* t : targets) {
            for (size_t i = 0; i < n; ++i) {
                const uint64_t t0 = now_ns();
                const bool ok = t->op();
                const uint64_t t1 = now_ns();
                if (!ok) throw Error(t->name + ": unexpected result");
                t->samples.push_back(static_cast<double>(t1 - t0) / 1000.0);
            }
        }
    }
}

std::string block_path(uint64_t block, const char* attr) {
    return "memory" + std::to_string(block) + "/" + attr;
}

// The nodeK entry of a block directory ("" if none).
std::string node_link_of(int memdirfd, uint64_t block) {
    const std::string dir = "memory" + std::to_string(block);
    const int fd = openat(memdirfd, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail_errno("open " + dir, errno);
    DIR* d = fdopendir(fd);
    if (!d) {
        close(fd);
        fail_errno("fdopendir " + dir, errno);
    }
    std::string link;
    while (const dirent* e = readdir(d)) {
        if (std::strncmp(e->d_name, "node", 4) == 0 && e->d_name[4] >= '0' && e->d_name[4] <= '9') {
            link = e->d_name;
            break;
        }
    }
    closedir(d);
    return link;
}

// One lsmem-like scan: list the memory directory, then per block list memoryN (finding its
// node link), read state, valid_zones, removable and phys_index, and readlink the node link.
// Returns the number of blocks scanned; throws on any failure.
size_t lsmem_scan(int memdirfd) {
    static const char* const kAttrs[] = {"state", "valid_zones", "removable", "phys_index"};
    DIR* d = open_dir_stream(memdirfd);
    std::vector<std::string> blocks;
    while (const dirent* e = readdir(d)) {
        if (std::strncmp(e->d_name, "memory", 6) == 0 && e->d_name[6] >= '0' && e->d_name[6] <= '9')
            blocks.emplace_back(e->d_name);
    }
    closedir(d);
    char buf[4096], path[600], link[256];
    for (const std::string& b : blocks) {
        const int bfd = openat(memdirfd, b.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bfd < 0) fail_errno("open " + b, errno);
        DIR* bd = fdopendir(bfd);
        if (!bd) {
            close(bfd);
            fail_errno("fdopendir " + b, errno);
        }
        char node[256] = "";
        while (const dirent* e = readdir(bd)) {
            if (std::strncmp(e->d_name, "node", 4) == 0 && e->d_name[4] >= '0' &&
                e->d_name[4] <= '9')
                std::memcpy(node, e->d_name, std::strlen(e->d_name) + 1);
        }
        closedir(bd);
        for (const char* attr : kAttrs) {
            std::snprintf(path, sizeof path, "%s/%s", b.c_str(), attr);
            if (read_at(memdirfd, path, buf, sizeof buf) <= 0)
                throw Error("scan: cannot read " + std::string(path));
        }
        if (!node[0]) throw Error("scan: " + b + " has no node link");
        std::snprintf(path, sizeof path, "%s/%s", b.c_str(), node);
        if (readlinkat(memdirfd, path, link, sizeof link) <= 0)
            fail_errno("readlink " + std::string(path), errno);
    }
    return blocks.size();
}

// ---- configurations written for the run -----------------------------------------------------

// The built-in default machine (examples/default.json), with its free pluggable space widened
// to 17-81 GiB so that 512 consecutive 128 MiB blocks fit (the built-in machine has room for
// 256): node 0 gets 17-49 GiB, node 1 49-81 GiB.
constexpr const char* kHotAddConfig = R"({
  "description": "hotplugfs-bench: the default machine with 64 GiB of probe space from 17 GiB and an unplugged 64 GiB DIMM at 81 GiB",
  "arch": "x86_64",
  "block_size": "128M",
  "nodes": [
    { "id": 0, "cpus": "0-1", "distance": [10, 20], "kernel_used": "160M" },
    { "id": 1, "cpus": "2-3", "distance": [20, 10], "kernel_used": "64M" }
  ],
  "memory": [
    { "start": "0x0",         "size": "3G", "node": 0 },
    { "start": "0x100000000", "size": "1G", "node": 0 },
    { "start": "0x140000000", "size": "4G", "node": 1 },
    { "start": "0x240000000", "size": "4G", "node": 0, "state": "offline", "hotplugged": true },
    { "start": "0x340000000", "size": "4G", "node": 1, "state": "offline", "hotplugged": true }
  ],
  "pluggable": [
    { "start": "0x240000000", "size": "4G",  "node": 0 },
    { "start": "0x340000000", "size": "4G",  "node": 1 },
    { "start": "0x440000000", "size": "128G", "node": 0 },
    { "start": "0x2440000000", "size": "32G", "node": 1 }
  ],
  "devices": [
    { "name": "dimm0", "kind": "dimm", "node": 0, "start": "0x1440000000", "size": "64G" }
  ],
  "parameters": { "auto_online_blocks": "offline", "probe": true }
}
)";
static_assert(kProbeBase == 0x440000000);
constexpr uint64_t kDimmBase = 0x1440000000;  // dimm0 of kHotAddConfig: 512 blocks

// ppc64, 16 MiB blocks, all memory online at boot, split evenly over two nodes.
std::string scale_config(uint64_t blocks) {
    const uint64_t half = blocks / 2 * (16ull << 20);
    char text[1024];
    std::snprintf(text, sizeof text, R"({
  "description": "hotplugfs-bench: ppc64 with %)" PRIu64 R"( online 16 MiB blocks on two nodes",
  "arch": "ppc64",
  "block_size": "16M",
  "nodes": [
    { "id": 0, "cpus": "0-63",   "distance": [10, 40], "kernel_used": "2G" },
    { "id": 1, "cpus": "64-127", "distance": [40, 10], "kernel_used": "1G" }
  ],
  "memory": [
    { "start": "0x0",   "size": "0x%)" PRIx64 R"(", "node": 0 },
    { "start": "0x%)" PRIx64 R"(", "size": "0x%)" PRIx64 R"(", "node": 1 }
  ],
  "parameters": { "probe": false }
}
)",
                  blocks, half, half, half);
    return text;
}

// ---- the run --------------------------------------------------------------------------------

struct KernelBaseline {
    std::string memory;  // SYSFS/devices/system/memory
    bool available = false;
    std::string reason;  // why not, when not available
    int memfd = -1;
    uint64_t block = 0;
    size_t blocks = 0;
    std::string block_size;
    bool writable = false;  // the harmless write can be measured
    std::string write_reason;
    KernelBaseline() = default;
    KernelBaseline(const KernelBaseline&) = delete;
    KernelBaseline& operator=(const KernelBaseline&) = delete;
    ~KernelBaseline() {
        if (memfd >= 0) close(memfd);
    }
};

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

// Row f's measurements of one way of hot-adding memory.
struct HotAddTimes {
    std::vector<double> per_block, add_us, wait_us;
};

class Bench {
  public:
    explicit Bench(Options o) : opt_(std::move(o)), n_(counts_for(opt_.quick)) {}
    int run();

  private:
    bool want(char row) const { return opt_.only.find(row) != std::string::npos; }
    void progress(const std::string& what) {
        std::fprintf(stderr, "hotplugfs-bench: %s\n", what.c_str());
    }
    void find_kernel_baseline();
    void copy_to_tmpfs();
    void row_a();
    std::unique_ptr<ForegroundServer> start_floor(bool mt, std::string& why);
    std::unique_ptr<ForegroundServer> start_lxcfs(std::string& why);
    void row_b();
    void row_c();
    void row_d();
    void row_e();
    void row_f();
    void hotadd_once(const std::string& config, const std::vector<std::string>& extra,
                     uint64_t first, const std::function<void(int mem_fd, int sys_fd)>& add,
                     HotAddTimes& times, const std::string& name);
    Row hotadd_row(std::string id, std::string name, const HotAddTimes& t);
    void row_g();
    Row& add(Row r) {
        rows_.push_back(std::move(r));
        return rows_.back();
    }
    Row* find(const std::string& id) {
        for (auto& r : rows_)
            if (r.id == id) return &r;
        return nullptr;
    }
    void kernel_cells(Row& r, const Target* kernel, const Target* tmpfs);
    void warn_about_load();
    void print_table() const;
    json to_json() const;
    std::string write_config(const std::string& name, const std::string& config);

    Options opt_;
    Counts n_;
    std::unique_ptr<TempDir> tmp_;
    std::unique_ptr<Daemon> main_;  // the built-in default machine, rows a-e
    KernelBaseline kernel_;
    int ours_mem_ = -1, tmpfs_mem_ = -1;
    uint64_t online_block_ = 0, offline_block_ = 0;
    std::string tmpfs_root_;
    std::vector<Row> rows_;
    std::vector<std::string> notes_;
    std::optional<Summary> ours_write_;  // e's state write, the reference for f
    json env_ = json::object();
    std::string lxcfs_version_;
};

std::string Bench::write_config(const std::string& name, const std::string& config) {
    const std::string path = tmp_->path() + "/" + name + ".json";
    write_text_file(path, config);
    return path;
}

void Bench::find_kernel_baseline() {
    KernelBaseline& k = kernel_;
    k.memory = opt_.kernel_sysfs + "/devices/system/memory";
    struct stat st {};
    if (stat(k.memory.c_str(), &st) != 0) {
        k.reason = "the host has no " + k.memory + " (" + std::strerror(errno) + ")";
        return;
    }
    k.memfd = open(k.memory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (k.memfd < 0) {
        k.reason = "cannot open " + k.memory + ": " + std::strerror(errno);
        return;
    }
    std::vector<uint64_t> blocks;
    try {
        blocks = list_blocks(k.memfd);
    } catch (const Error& e) {
        k.reason = e.what();
        return;
    }
    k.blocks = blocks.size();
    std::vector<uint64_t> online;
    for (uint64_t b : blocks) {
        char buf[64];
        const long n = read_at(k.memfd, block_path(b, "state").c_str(), buf, sizeof buf);
        if (n > 0 && std::string_view(buf, static_cast<size_t>(n)) == "online\n" &&
            !node_link_of(k.memfd, b).empty())
            online.push_back(b);
    }
    if (online.empty()) {
        k.reason = "no online memory block with a node link in " + k.memory;
        return;
    }
    k.block = online[online.size() / 2];
    try {
        k.block_size = slurp_at(k.memfd, "block_size_bytes");
        if (!k.block_size.empty() && k.block_size.back() == '\n') k.block_size.pop_back();
    } catch (const Error&) {
    }
    k.available = true;
    if (access((k.memory + "/" + block_path(k.block, "state")).c_str(), W_OK) == 0) {
        k.writable = true;
    } else {
        k.write_reason = "the kernel's state files are not writable here";
    }
}

// The tmpfs baseline: the emulated tree's block files, copied.
void Bench::copy_to_tmpfs() {
    tmpfs_root_ = tmp_->mount_tmpfs();
    const std::string mem = tmpfs_root_ + "/devices/system/memory";
    std::filesystem::create_directories(mem);
    static const char* const kFiles[] = {"state", "online", "valid_zones", "removable",
                                         "phys_index"};
    std::vector<std::string> nodes;
    for (uint64_t b : list_blocks(ours_mem_)) {
        const std::string dir = mem + "/memory" + std::to_string(b);
        std::filesystem::create_directory(dir);
        for (const char* f : kFiles)
            write_text_file(dir + "/" + f, slurp_at(ours_mem_, block_path(b, f)));
        const std::string link = node_link_of(ours_mem_, b);
        if (link.empty()) throw Error("memory" + std::to_string(b) + " has no node link");
        char target[256];
        const ssize_t n =
            readlinkat(ours_mem_, block_path(b, link.c_str()).c_str(), target, sizeof target - 1);
        if (n <= 0) fail_errno("readlink memory" + std::to_string(b) + "/" + link, errno);
        target[n] = 0;
        if (symlink(target, (dir + "/" + link).c_str()) != 0) fail_errno("symlink", errno);
        if (std::find(nodes.begin(), nodes.end(), link) == nodes.end()) nodes.push_back(link);
    }
    for (const auto& node : nodes)
        std::filesystem::create_directories(tmpfs_root_ + "/devices/system/node/" + node);
    tmpfs_mem_ = open_dir(mem);
}

void Bench::kernel_cells(Row& r, const Target* kernel, const Target* tmpfs) {
    if (kernel && !kernel->samples.empty()) {
        const Summary k = summarize(kernel->samples);
        r.kernel_p50 = k.p50;
        r.details["kernel"] = summary_json(k);
    }
    if (tmpfs && !tmpfs->samples.empty()) {
        const Summary t = summarize(tmpfs->samples);
        r.tmpfs_p50 = t.p50;
        r.details["tmpfs"] = summary_json(t);
    }
    r.ratio_kernel = ratio(r.ours, r.kernel_p50);
    r.ratio_tmpfs = ratio(r.ours, r.tmpfs_p50);
    if (r.ours) r.details["ours"] = summary_json(*r.ours);
}

// Judges a row whose target is a ratio to the kernel baseline.
void judge_vs_kernel(Row& r, double limit, const KernelBaseline& k) {
    r.target_limit = limit;
    r.target_unit = "x";
    r.target_value = r.ratio_kernel;
    if (!r.ratio_kernel)
        r.why_unmet = k.available ? "kernel baseline not measured" : "no kernel memory sysfs";
}

// Judges a row whose target is a ratio to another server's p50 (the floor server, LXCFS).
void judge_vs_ref(Row& r, double limit, const char* limit_text, const std::string& ref_name,
                  const std::optional<Summary>& ref, const std::string& missing_why) {
    r.target_limit = limit;
    r.target_unit = "x";
    r.ref_name = ref_name;
    r.target = std::string("≤ ") + limit_text + "× " + ref_name;
    if (ref && ref->n > 0 && ref->p50 > 0) {
        r.ref_p50 = ref->p50;
        r.target += " (" + num(ref->p50) + " µs)";
        if (r.ours) r.target_value = r.ours->p50 / ref->p50;
    } else {
        r.why_unmet = missing_why;
    }
}

// The floor server (bench/floor_server.cpp) with one of its session loops, or why not.
std::unique_ptr<ForegroundServer> Bench::start_floor(bool mt, std::string& why) {
    if (opt_.floor.empty() || access(opt_.floor.c_str(), X_OK) != 0) {
        why = "no floor server executable" + (opt_.floor.empty() ? "" : " " + opt_.floor);
        return nullptr;
    }
    const std::string name = mt ? "floor-mt" : "floor-st";
    auto s = std::make_unique<ForegroundServer>(tmp_->path() + "/" + name,
                                                tmp_->path() + "/" + name + ".log");
    std::vector<std::string> argv{opt_.floor};
    if (mt) argv.push_back("--mt");
    argv.push_back(s->mountpoint());
    try {
        s->start(argv, s->mountpoint() + "/state");
    } catch (const Error& e) {
        check_interrupted();
        why = e.what();
        return nullptr;
    }
    return s;
}

// lxcfs in the foreground on a private mount point with its own PID file, or why not.
std::unique_ptr<ForegroundServer> Bench::start_lxcfs(std::string& why) {
    if (opt_.lxcfs.empty()) {
        why = opt_.lxcfs_none ? "--lxcfs none" : "lxcfs is not installed";
        return nullptr;
    }
    auto s = std::make_unique<ForegroundServer>(tmp_->path() + "/lxcfs",
                                                tmp_->path() + "/lxcfs.log");
    try {
        s->start({opt_.lxcfs, "--foreground", "--pidfile=" + tmp_->path() + "/lxcfs.pid",
                  s->mountpoint()},
                 s->mountpoint() + "/proc");
    } catch (const Error& e) {
        check_interrupted();
        why = e.what();
        return nullptr;
    }
    struct stat st {};
    if (stat((s->mountpoint() + "/" + kLxcfsFile).c_str(), &st) != 0) {
        why = std::string("lxcfs serves no ") + kLxcfsFile + " (" + std::strerror(errno) + ")";
        return nullptr;  // the destructor stops it
    }
    return s;
}

// a, a1-a3, and the peers F (floor server) and L (LXCFS): open + read(4096) + close, caches warm,
// all measured interleaved in one loop: the default (exact) daemon, a --fast daemon, the floor
// server with either session loop, LXCFS, the kernel and tmpfs.
void Bench::row_a() {
    progress("a: cached reads (default mode, --fast, floor server, LXCFS, kernel, tmpfs)");
    Daemon fast(opt_.daemon, tmp_->path(), "fast");
    fast.start(std::nullopt, {"--fast"});
    std::string why_st, why_mt, why_lxcfs;
    std::unique_ptr<ForegroundServer> floor_st = start_floor(false, why_st);
    std::unique_ptr<ForegroundServer> floor_mt = start_floor(true, why_mt);
    std::unique_ptr<ForegroundServer> lxcfs = start_lxcfs(why_lxcfs);
    auto first_line = [](const std::string& t) { return t.substr(0, t.find('\n')); };
    if (!why_st.empty()) notes_.push_back("floor server (fuse_session_loop): " + first_line(why_st));
    if (!why_mt.empty()) notes_.push_back("floor server (fuse_session_loop_mt): " + first_line(why_mt));
    if (!why_lxcfs.empty()) notes_.push_back("LXCFS row skipped: " + first_line(why_lxcfs));

    Fd fast_mem(open_dir(fast.mem()));
    Fd st_dir(floor_st ? open_dir(floor_st->mountpoint()) : -1);
    Fd mt_dir(floor_mt ? open_dir(floor_mt->mountpoint()) : -1);
    Fd lxcfs_dir(lxcfs ? open_dir(lxcfs->mountpoint() + "/sys/devices/system") : -1);
    const std::string kcpu_dir = opt_.kernel_sysfs + "/devices/system";
    Fd kcpu(access((kcpu_dir + "/cpu/online").c_str(), R_OK) == 0 ? open_dir(kcpu_dir) : -1);

    char buf[4096];
    auto reads = [&buf](int dirfd, std::string rel, std::string expect) {
        return [dirfd, rel = std::move(rel), expect = std::move(expect), &buf] {
            const long n = read_at(dirfd, rel.c_str(), buf, sizeof buf);
            return n == static_cast<long>(expect.size()) && std::memcmp(buf, expect.data(), expect.size()) == 0;
        };
    };
    const std::string rel = block_path(online_block_, "state");
    const std::string krel = block_path(kernel_.block, "state");
    const std::string pi_rel = block_path(online_block_, "phys_index");
    const std::string pi_krel = block_path(kernel_.block, "phys_index");
    const std::string pi = slurp_at(ours_mem_, pi_rel);
    const std::string lx_expect = lxcfs ? slurp_at(lxcfs_dir.fd, "cpu/online") : "";
    const std::string kcpu_expect = kcpu.fd >= 0 ? slurp_at(kcpu.fd, "cpu/online") : "";
    if (lxcfs && (lx_expect.size() < 2 || lx_expect.back() != '\n' ||
                  lx_expect.find_first_not_of("0123456789,-\n") != std::string::npos))
        throw Error("a: unexpected LXCFS " + std::string(kLxcfsFile) + ": " + lx_expect);

    // State reads: the rows' subjects and every reference, in one interleaved loop.
    Target ours{"hotplugfs read", reads(ours_mem_, rel, "online\n"), {}};
    Target fastt{"hotplugfs --fast read", reads(fast_mem.fd, rel, "online\n"), {}};
    Target kern{"kernel read", reads(kernel_.memfd, krel, "online\n"), {}};
    Target tmpfs{"tmpfs read", reads(tmpfs_mem_, rel, "online\n"), {}};
    Target st_direct{"floor direct-io read (loop)", reads(st_dir.fd, "state", "online\n"), {}};
    Target mt_direct{"floor direct-io read (loop_mt)", reads(mt_dir.fd, "state", "online\n"), {}};
    Target lx{"LXCFS read", reads(lxcfs_dir.fd, "cpu/online", lx_expect), {}};
    Target kern_cpu{"kernel cpu/online read", reads(kcpu.fd, "cpu/online", kcpu_expect), {}};
    std::vector<Target*> targets{&ours, &fastt, &tmpfs};
    if (kernel_.available) targets.push_back(&kern);
    if (floor_st) targets.push_back(&st_direct);
    if (floor_mt) targets.push_back(&mt_direct);
    if (lxcfs) targets.push_back(&lx);
    if (lxcfs && kcpu.fd >= 0) targets.push_back(&kern_cpu);
    measure(targets, n_.warmup, n_.iters);

    // Reads of a file that cannot change (served with FOPEN_KEEP_CACHE in the default mode).
    const std::string kpi = kernel_.available ? slurp_at(kernel_.memfd, pi_krel) : "";
    Target ours_pi{"hotplugfs phys_index read", reads(ours_mem_, pi_rel, pi), {}};
    Target kern_pi{"kernel phys_index read", reads(kernel_.memfd, pi_krel, kpi), {}};
    Target tmpfs_pi{"tmpfs phys_index read", reads(tmpfs_mem_, pi_rel, pi), {}};
    Target st_keep{"floor keep-cache read (loop)", reads(st_dir.fd, "phys_index", "00000005\n"), {}};
    Target mt_keep{"floor keep-cache read (loop_mt)", reads(mt_dir.fd, "phys_index", "00000005\n"), {}};
    targets = {&ours_pi, &tmpfs_pi};
    if (kernel_.available) targets.push_back(&kern_pi);
    if (floor_st) targets.push_back(&st_keep);
    if (floor_mt) targets.push_back(&mt_keep);
    measure(targets, n_.warmup, n_.iters);

    // The floor: the faster of the two session loops, per file.
    auto floor_of = [](Target& st, Target& mt, std::string& loop, json& details) {
        std::optional<Summary> s, m;
        if (!st.samples.empty()) s = summarize(st.samples);
        if (!mt.samples.empty()) m = summarize(mt.samples);
        details["fuse_session_loop"] = s ? summary_json(*s) : json(nullptr);
        details["fuse_session_loop_mt"] = m ? summary_json(*m) : json(nullptr);
        if (s && (!m || s->p50 <= m->p50)) {
            loop = "fuse_session_loop";
            return s;
        }
        if (m) loop = "fuse_session_loop_mt";
        return m;
    };
    json direct_details = json::object(), keep_details = json::object();
    std::string direct_loop, keep_loop;
    const std::optional<Summary> floor_direct = floor_of(st_direct, mt_direct, direct_loop, direct_details);
    const std::optional<Summary> floor_keep = floor_of(st_keep, mt_keep, keep_loop, keep_details);
    const std::string no_floor = "floor server not measured";
    std::optional<Summary> lx_sum;
    if (lxcfs) lx_sum = summarize(lx.samples);

    Row a{"a", "cached read: open+read+close state", "us"};
    a.ours = summarize(ours.samples);
    kernel_cells(a, kernel_.available ? &kern : nullptr, &tmpfs);
    judge_vs_ref(a, 1.2, "1.2", "floor direct-io read", floor_direct, no_floor);
    a.details["path"] = "memory" + std::to_string(online_block_) + "/state";
    a.details["mode"] = "default (exact): OPEN and READ reach the daemon (FOPEN_DIRECT_IO)";
    a.details["daemon_args"] = opt_.daemon_args;
    const Summary ours_sum = *a.ours;
    add(std::move(a));

    Row a1{"a1", "  same read × LXCFS", "us"};
    a1.ours = ours_sum;
    a1.details["ours"] = summary_json(ours_sum);
    judge_vs_ref(a1, 0.25, "0.25", "LXCFS read", lx_sum,
                 why_lxcfs.empty() ? "LXCFS not measured" : first_line(why_lxcfs));
    if (!lxcfs && opt_.lxcfs.empty())
        a1.why_unmet = opt_.lxcfs_none ? "--lxcfs none" : "lxcfs not installed";
    add(std::move(a1));

    Row a2{"a2", "  same, daemon with --fast", "us"};
    a2.ours = summarize(fastt.samples);
    kernel_cells(a2, kernel_.available ? &kern : nullptr, &tmpfs);
    a2.target = "≤ 0.8× kernel";
    judge_vs_kernel(a2, 0.8, kernel_);
    a2.details["mode"] = "--fast: page-cached reads, one OPEN per open";
    add(std::move(a2));

    Row a3{"a3", "read of phys_index (cannot change): open+read+close", "us"};
    a3.ours = summarize(ours_pi.samples);
    kernel_cells(a3, kernel_.available ? &kern_pi : nullptr, &tmpfs_pi);
    judge_vs_ref(a3, 1.2, "1.2", "floor keep-cache read", floor_keep, no_floor);
    a3.details["path"] = pi_rel;
    a3.details["mode"] = "default (exact): OPEN reaches the daemon, FOPEN_KEEP_CACHE";
    add(std::move(a3));

    auto other_loop = [](const json& d, const std::string& chosen) -> std::string {
        const char* other = chosen == "fuse_session_loop" ? "fuse_session_loop_mt" : "fuse_session_loop";
        if (!d.contains(other) || d[other].is_null()) return "";
        return std::string("; ") + (chosen == "fuse_session_loop" ? "_mt" : "single-threaded") +
               ": " + num(d[other]["p50"].get<double>()) + " µs";
    };
    Row f1{"F", "floor server, direct-io file (" +
                    (direct_loop.empty() ? std::string("not measured") :
                     direct_loop + other_loop(direct_details, direct_loop)) + ")",
           "us"};
    f1.ours = floor_direct;
    if (f1.ours) kernel_cells(f1, kernel_.available ? &kern : nullptr, &tmpfs);
    f1.details = direct_details;
    f1.details["loop"] = direct_loop;
    add(std::move(f1));
    Row f2{"F", "floor server, keep-cache file (" +
                    (keep_loop.empty() ? std::string("not measured") :
                     keep_loop + other_loop(keep_details, keep_loop)) + ")",
           "us"};
    f2.ours = floor_keep;
    if (f2.ours) kernel_cells(f2, kernel_.available ? &kern_pi : nullptr, &tmpfs_pi);
    f2.details = keep_details;
    f2.details["loop"] = keep_loop;
    add(std::move(f2));

    Row l{"L", lxcfs ? "LXCFS " + lxcfs_version_ + ": " + kLxcfsFile
                     : std::string("LXCFS: skipped (") +
                           (opt_.lxcfs_none     ? "--lxcfs none"
                            : opt_.lxcfs.empty() ? "lxcfs not installed"
                                                 : "lxcfs did not start") +
                           ")",
          "us"};
    if (lxcfs) {
        l.ours = lx_sum;
        kernel_cells(l, kcpu.fd >= 0 ? &kern_cpu : nullptr, nullptr);
        l.details["kernel_reference"] = "the kernel's " + kcpu_dir + "/cpu/online";
        l.details["content"] = lx_expect;
    } else {
        l.details["skipped_because"] = why_lxcfs;
    }
    add(std::move(l));
    // The servers stop (by PID) and unmount as their owners go out of scope, after the fds.
}

// b. The first open+read+close of a block's state right after writing it.
void Bench::row_b() {
    progress("b: first read after a change");
    const std::string rel = block_path(offline_block_, "state");
    char buf[4096];
    const std::string krel = block_path(kernel_.block, "state");
    size_t stale_ours = 0, stale_tmpfs = 0;
    std::vector<double> ours, tmpfs, kernel;
    // The reference: the kernel's plain cached read, timed in the same loop.
    auto kernel_read = [&](std::vector<double>* out) {
        const uint64_t t0 = now_ns();
        const long n = read_at(kernel_.memfd, krel.c_str(), buf, sizeof buf);
        const uint64_t t1 = now_ns();
        if (n != 7 || std::memcmp(buf, "online\n", 7) != 0)
            throw Error("b: kernel read of " + krel);
        if (out) out->push_back(static_cast<double>(t1 - t0) / 1000.0);
    };
    // The write is not timed, only the first read after it; a failed write is an error.
    auto one = [&](size_t i, int dirfd, int write_flags, std::vector<double>* out, size_t& stale) {
        const std::string_view text = (i % 2 == 0) ? "online\n" : "offline\n";
        const long w = write_at(dirfd, rel.c_str(), text, write_flags);
        if (w != static_cast<long>(text.size()))
            throw Error(
                "b: writing " + std::string(text.substr(0, text.size() - 1)) + " to " + rel +
                " failed: " + (w < 0 ? std::strerror(static_cast<int>(-w)) : "short write"));
        const uint64_t t0 = now_ns();
        const long n = read_at(dirfd, rel.c_str(), buf, sizeof buf);
        const uint64_t t1 = now_ns();
        if (n < 0) fail_errno("b: read " + rel, static_cast<int>(-n));
        if (std::string_view(buf, static_cast<size_t>(n)) != text) ++stale;
        if (out) out->push_back(static_cast<double>(t1 - t0) / 1000.0);
    };
    // Even counts: the block ends offline, as it started.
    for (size_t i = 0; i < n_.write_warmup; ++i) {
        one(i, ours_mem_, O_WRONLY, nullptr, stale_ours);
        one(i, tmpfs_mem_, O_WRONLY | O_TRUNC, nullptr, stale_tmpfs);
        if (kernel_.available) kernel_read(nullptr);
    }
    for (size_t i = 0; i < n_.write_iters; ++i) {
        if (i % 500 == 0) check_interrupted();
        one(i, ours_mem_, O_WRONLY, &ours, stale_ours);
        one(i, tmpfs_mem_, O_WRONLY | O_TRUNC, &tmpfs, stale_tmpfs);
        if (kernel_.available) kernel_read(&kernel);
    }
    Row r{"b", "first read after a state change", "us"};
    r.ours = summarize(ours);
    r.details["ours"] = summary_json(*r.ours);
    r.details["tmpfs"] = summary_json(summarize(tmpfs));
    r.details["stale_reads"] = stale_ours;
    r.details["stale_reads_tmpfs"] = stale_tmpfs;
    r.details["path"] = rel;
    r.details["kernel_reference"] =
        "the kernel's plain cached read, timed in the same loop (the kernel has no cache to "
        "invalidate)";
    r.details["tmpfs_reference"] = "first read after an O_TRUNC write of the tmpfs copy";
    if (!kernel.empty()) {
        r.kernel_p50 = summarize(kernel).p50;
        r.details["kernel"] = summary_json(summarize(kernel));
    }
    r.tmpfs_p50 = summarize(tmpfs).p50;
    r.ratio_kernel = ratio(r.ours, r.kernel_p50);
    r.ratio_tmpfs = ratio(r.ours, r.tmpfs_p50);
    r.target = "≤ 10× kernel cached read";
    judge_vs_kernel(r, 10.0, kernel_);
    if (stale_ours) {
        r.why_unmet = std::to_string(stale_ours) + " stale reads";
        r.failed = true;
        notes_.push_back("b: " + std::to_string(stale_ours) +
                         " reads after a write returned the old state!");
    }
    add(std::move(r));
}

// c. stat() of memoryN/state.
void Bench::row_c() {
    progress("c: stat");
    const std::string rel = block_path(online_block_, "state");
    const std::string krel = block_path(kernel_.block, "state");
    struct stat st {};
    Target ours{"hotplugfs stat", [&] { return fstatat(ours_mem_, rel.c_str(), &st, 0) == 0; }, {}};
    Target kern{
        "kernel stat", [&] { return fstatat(kernel_.memfd, krel.c_str(), &st, 0) == 0; }, {}};
    Target tmpfs{"tmpfs stat", [&] { return fstatat(tmpfs_mem_, rel.c_str(), &st, 0) == 0; }, {}};
    std::vector<Target*> targets{&ours, &tmpfs};
    if (kernel_.available) targets.push_back(&kern);
    measure(targets, n_.warmup, n_.iters);
    Row r{"c", "stat() of state", "us"};
    r.ours = summarize(ours.samples);
    kernel_cells(r, kernel_.available ? &kern : nullptr, &tmpfs);
    r.target = "≤ 1.2× kernel";
    judge_vs_kernel(r, 1.2, kernel_);
    add(std::move(r));
}

// d. lsmem-like scans; the sample is one scan's time divided by its block count.
void Bench::row_d() {
    progress("d: lsmem-like scan");
    size_t blocks_ours = 0, blocks_kernel = 0, blocks_tmpfs = 0;
    auto scanner = [](int fd, size_t& blocks) {
        return [fd, &blocks]() {
            blocks = lsmem_scan(fd);
            return blocks > 0;
        };
    };
    Target ours{"hotplugfs scan", scanner(ours_mem_, blocks_ours), {}};
    Target kern{"kernel scan", scanner(kernel_.memfd, blocks_kernel), {}};
    Target tmpfs{"tmpfs scan", scanner(tmpfs_mem_, blocks_tmpfs), {}};
    std::vector<Target*> targets{&ours, &tmpfs};
    if (kernel_.available) targets.push_back(&kern);
    measure(targets, 2, n_.scans, 1);  // one scan per target in turn
    auto per_block = [](Target& t, size_t blocks) {
        for (double& s : t.samples) s /= static_cast<double>(blocks);
    };
    per_block(ours, blocks_ours);
    per_block(kern, blocks_kernel ? blocks_kernel : 1);
    per_block(tmpfs, blocks_tmpfs);
    Row r{"d", "lsmem-like scan, per block", "us"};
    r.ours = summarize(ours.samples);
    kernel_cells(r, kernel_.available ? &kern : nullptr, &tmpfs);
    r.details["blocks"] =
        json{{"ours", blocks_ours}, {"kernel", blocks_kernel}, {"tmpfs", blocks_tmpfs}};
    r.details["scans"] = n_.scans;
    r.target = "≤ 4× kernel";
    judge_vs_kernel(r, 4.0, kernel_);
    add(std::move(r));
}

// e. open + write + close of the state file.
void Bench::row_e() {
    progress("e: state write");
    const std::string rel = block_path(offline_block_, "state");
    const std::string krel = block_path(kernel_.block, "state");
    bool kernel_ok = kernel_.available && kernel_.writable;
    std::string kernel_why = !kernel_.available ? kernel_.reason : kernel_.write_reason;
    if (kernel_ok && slurp_at(kernel_.memfd, krel) != "online\n") {
        kernel_ok = false;
        kernel_why = "the chosen kernel block is no longer online";
    }
    size_t kernel_unexpected = 0;
    int kernel_last_errno = 0;
    auto run_flags = [&](int flags, Row r) {
        size_t i_ours = 0, i_tmpfs = 0;
        auto toggle = [](size_t& i) -> std::string_view {
            return (i++ % 2 == 0) ? "online\n" : "offline\n";
        };
        Target ours{"hotplugfs state write",
                    [&] {
                        const auto text = toggle(i_ours);
                        return write_at(ours_mem_, rel.c_str(), text, flags) ==
                               static_cast<long>(text.size());
                    },
                    {}};
        // The kernel's harmless write: "online" to an online block fails EINVAL, changing nothing.
        Target kern{"kernel harmless write",
                    [&] {
                        const long w = write_at(kernel_.memfd, krel.c_str(), "online\n", flags);
                        if (w != -EINVAL) {
                            ++kernel_unexpected;
                            kernel_last_errno = w < 0 ? static_cast<int>(-w) : 0;
                        }
                        return w == -EINVAL || w == 7;
                    },
                    {}};
        Target tmpfs{"tmpfs write",
                     [&] {
                         const auto text = toggle(i_tmpfs);
                         return write_at(tmpfs_mem_, rel.c_str(), text, flags | O_TRUNC) ==
                                static_cast<long>(text.size());
                     },
                     {}};
        std::vector<Target*> targets{&ours, &tmpfs};
        if (kernel_ok) targets.push_back(&kern);
        measure(targets, n_.write_warmup, n_.write_iters);
        r.ours = summarize(ours.samples);
        kernel_cells(r, kernel_ok ? &kern : nullptr, &tmpfs);
        r.details["path"] = rel;
        r.details["kernel_reference"] =
            kernel_ok ? "write of \"online\\n\" to the online host block's state: EINVAL, no change"
                      : "not measured: " + kernel_why;
        r.details["tmpfs_reference"] = "O_TRUNC write of the tmpfs copy";
        if (kernel_unexpected)
            r.details["kernel_unexpected_results"] =
                json{{"count", kernel_unexpected}, {"last_errno", kernel_last_errno}};
        return r;
    };
    Row r = run_flags(O_WRONLY, Row{"e", "state write: open+write+close", "us"});
    r.target = "≤ 8× kernel harmless write";
    judge_vs_kernel(r, 8.0, kernel_);
    if (!kernel_ok && kernel_.available) r.why_unmet = kernel_why;
    ours_write_ = r.ours;
    add(std::move(r));
    kernel_unexpected = 0;
    Row e2 = run_flags(O_WRONLY | O_CREAT | O_TRUNC,
                       Row{"e2", "  same, with echo's O_CREAT+O_TRUNC (info)", "us"});
    add(std::move(e2));
    if (kernel_ok && slurp_at(kernel_.memfd, krel) != "online\n")
        notes_.push_back(
            "e: the kernel block's state is no longer online after the harmless writes!");
}

// f. Hot-add, end to end: plug a 512-block DIMM while the daemon applies the shipped onlining
// rule (udev-rules/), until the last block reads online; a fresh daemon per repetition.
// f2 (info): the same number of blocks probed one by one with auto_online_blocks=online.
void Bench::hotadd_once(const std::string& config, const std::vector<std::string>& extra,
                        uint64_t first, const std::function<void(int mem_fd, int sys_fd)>& add,
                        HotAddTimes& times, const std::string& name) {
    const uint64_t last = first + kHotAddBlocks - 1;
    const std::string last_state = block_path(last, "state");
    Daemon d(opt_.daemon, tmp_->path(), name);
    d.start(config, extra);
    Fd mem(open_dir(d.mem()));
    Fd sys(open_dir(d.sys()));
    const size_t before = list_blocks(mem.fd).size();
    char buf[64];
    const uint64_t t0 = now_ns();
    add(mem.fd, sys.fd);
    const uint64_t t_added = now_ns();
    for (;;) {
        const long n = read_at(mem.fd, last_state.c_str(), buf, sizeof buf);
        if (n == 7 && std::memcmp(buf, "online\n", 7) == 0) break;
        if (now_ns() - t0 > 60'000'000'000ull)
            throw Error("f: " + last_state + " did not come online within 60 s; log:\n" +
                        d.log_tail());
        check_interrupted();
    }
    const uint64_t t1 = now_ns();
    times.per_block.push_back(static_cast<double>(t1 - t0) / 1000.0 / kHotAddBlocks);
    times.add_us.push_back(static_cast<double>(t_added - t0) / 1000.0);
    times.wait_us.push_back(static_cast<double>(t1 - t_added) / 1000.0);
    // Not timed: every new block exists and is online.
    const size_t after = list_blocks(mem.fd).size();
    size_t online = 0;
    for (uint64_t b = first; b <= last; ++b)
        online += slurp_at(mem.fd, block_path(b, "state")) == "online\n";
    if (after != before + kHotAddBlocks || online != kHotAddBlocks)
        throw Error("f: " + std::to_string(after - before) + " new blocks, " +
                    std::to_string(online) + " online (expected " +
                    std::to_string(kHotAddBlocks) + ")");
    d.stop();
}

Row Bench::hotadd_row(std::string id, std::string name, const HotAddTimes& t) {
    Row r{std::move(id), std::move(name), "us"};
    r.ours = summarize(t.per_block);
    r.details["ours"] = summary_json(*r.ours);
    r.details["repetitions"] = n_.hotadd_reps;
    r.details["blocks_per_repetition"] = kHotAddBlocks;
    r.details["adding_us"] = summary_json(summarize(t.add_us));
    r.details["wait_after_adding_us"] = summary_json(summarize(t.wait_us));
    return r;
}

void Bench::row_f() {
    progress("f: end-to-end hot-add of a 512-block DIMM with the shipped rule");
    const std::string config = write_config("hotadd", kHotAddConfig);
    HotAddTimes dimm, probe;
    for (size_t rep = 0; rep < n_.hotadd_reps; ++rep) {
        check_interrupted();
        hotadd_once(config, {"--rules-dir", opt_.rules_dir}, kDimmBase / kBlock128M,
                    [](int, int sys) {
                        const char* plugged = "kernel/debug/hotplugfs/devices/dimm0/plugged";
                        if (write_at(sys, plugged, "64G\n", O_WRONLY) != 4)
                            throw Error("f: plugging dimm0 failed");
                    },
                    dimm, "hotadd-dimm-" + std::to_string(rep));
        hotadd_once(config, {}, kProbeBase / kBlock128M,
                    [](int mem, int) {
                        if (write_at(mem, "auto_online_blocks", "online\n", O_WRONLY) != 7)
                            throw Error("f2: cannot set auto_online_blocks to online");
                        char text[64];
                        for (int i = 0; i < kHotAddBlocks; ++i) {
                            const int len = std::snprintf(text, sizeof text, "0x%" PRIx64 "\n",
                                                          kProbeBase + i * kBlock128M);
                            const std::string_view t(text, static_cast<size_t>(len));
                            if (write_at(mem, "probe", t, O_WRONLY) != len)
                                throw Error(std::string("f2: probe failed: ") + text);
                        }
                    },
                    probe, "hotadd-probe-" + std::to_string(rep));
    }
    Row r = hotadd_row("f", "hot-add per block: DIMM plug + shipped udev rule", dimm);
    r.details["machine"] = "default machine with an unplugged 64 GiB DIMM (512 blocks)";
    r.details["onlining"] = std::string("hotplugfsd --rules-dir ") + opt_.rules_dir;
    r.target = "≤ 20× state write (e p50)";
    r.target_unit = "x";
    r.target_limit = 20.0;
    if (ours_write_ && ours_write_->p50 > 0) {
        r.target_value = r.ours->p50 / ours_write_->p50;
        r.details["state_write_p50_us"] = ours_write_->p50;
        r.details["ratio_to_state_write"] = *r.target_value;
    } else {
        r.why_unmet = "row e not measured";
    }
    add(std::move(r));
    Row f2 = hotadd_row("f2", "  same blocks probed one by one, auto-online (info)", probe);
    f2.details["onlining"] = "auto_online_blocks=online, inside each probe write";
    add(std::move(f2));
}

// g. Scale: start-up time and RSS for large machines, RSS after 1,000,000 lookups, and one
// lsmem --sysroot over 65,536 blocks.
void Bench::row_g() {
    const uint64_t sizes[] = {65536, 262144, 1048576};
    for (uint64_t blocks : sizes) {
        progress("g: " + std::to_string(blocks) + " blocks");
        const std::string config =
            write_config("scale-" + std::to_string(blocks), scale_config(blocks));
        std::vector<double> ready_s, rss_start;
        std::unique_ptr<Daemon> last;
        for (size_t rep = 0; rep < n_.starts; ++rep) {
            check_interrupted();
            auto d = std::make_unique<Daemon>(
                opt_.daemon, tmp_->path(),
                "scale-" + std::to_string(blocks) + "-" + std::to_string(rep));
            ready_s.push_back(d->start(config, {}));
            rss_start.push_back(static_cast<double>(rss_kib(d->pid())) / 1024.0);
            if (rep + 1 < n_.starts)
                d->stop(120);
            else
                last = std::move(d);
        }
        // Lookups: stat(memoryN/state) for random N (fixed seed), n_.lookups times.
        Fd mem(open_dir(last->mem()));
        struct stat st {};
        if (fstatat(mem.fd, block_path(blocks - 1, "state").c_str(), &st, 0) != 0 ||
            fstatat(mem.fd, ("memory" + std::to_string(blocks)).c_str(), &st, 0) == 0)
            throw Error("g: the " + std::to_string(blocks) +
                        "-block machine does not have exactly that many blocks");
        std::mt19937_64 rng(20240601 + blocks);
        char path[64];
        // RSS after every tenth of the lookups: it must level off, not grow with them.
        json rss_series = json::array({json{{"lookups", 0}, {"rss_mib", rss_start.back()}}});
        const size_t step = std::max<size_t>(n_.lookups / 10, 1);
        const uint64_t t0 = now_ns();
        uint64_t paused_ns = 0;
        for (size_t i = 0; i < n_.lookups; ++i) {
            if (i % 65536 == 0) check_interrupted();
            std::snprintf(path, sizeof path, "memory%" PRIu64 "/state", rng() % blocks);
            if (fstatat(mem.fd, path, &st, 0) != 0)
                fail_errno(std::string("g: stat ") + path, errno);
            if ((i + 1) % step == 0) {
                const uint64_t p0 = now_ns();
                rss_series.push_back(
                    json{{"lookups", i + 1},
                         {"rss_mib", static_cast<double>(rss_kib(last->pid())) / 1024.0}});
                paused_ns += now_ns() - p0;
            }
        }
        const double lookup_s = static_cast<double>(now_ns() - t0 - paused_ns) / 1e9;
        const double rss_after = static_cast<double>(rss_kib(last->pid())) / 1024.0;
        last->stop(120);

        const std::string count = std::to_string(blocks);
        Row ready{"g", "ready after start, " + count + " blocks", "ms"};
        std::vector<double> ready_ms;
        for (double s : ready_s) ready_ms.push_back(s * 1000.0);
        ready.ours = summarize(ready_ms);
        ready.details["ours"] = summary_json(*ready.ours);
        ready.details["starts"] = n_.starts;
        if (blocks == 1048576) {
            ready.target = "≤ 2 s";
            ready.target_unit = "s";
            ready.target_value = ready.ours->p50 / 1000.0;
            ready.target_limit = 2.0;
        }
        add(std::move(ready));

        Row rs{"g", "RSS after start, " + count + " blocks", "MiB"};
        rs.ours = summarize(rss_start);
        rs.details["ours"] = summary_json(*rs.ours);
        Row ra{"g", "RSS after " + std::to_string(n_.lookups) + " lookups, " + count + " blocks",
               "MiB"};
        ra.ours = summarize({rss_after});
        ra.details["ours"] = summary_json(*ra.ours);
        ra.details["lookups"] = n_.lookups;
        ra.details["lookup_seconds"] = lookup_s;
        ra.details["lookup_mean_us"] = lookup_s * 1e6 / static_cast<double>(n_.lookups);
        ra.details["growth_mib"] = rss_after - rss_start.back();
        ra.details["rss_series"] = rss_series;
        if (blocks == 1048576) {
            for (Row* x : {&rs, &ra}) {
                x->target = "≤ 256 MiB";
                x->target_unit = "MiB";
                x->target_limit = 256.0;
            }
            rs.target_value = rs.ours->p50;
            ra.target_value = rss_after;
        }
        add(std::move(rs));
        add(std::move(ra));

        if (blocks == 65536) {
            // One lsmem --sysroot on a fresh daemon (nothing cached), then a second run; in the
            // default mode and with --fast.
            for (const bool fast : {false, true}) {
                const std::string mode = fast ? ", --fast" : "";
                progress("g: lsmem --sysroot over 65536 blocks" + mode);
                Daemon d(opt_.daemon, tmp_->path(), fast ? "lsmem-65536-fast" : "lsmem-65536");
                d.start(config, fast ? std::vector<std::string>{"--fast"}
                                     : std::vector<std::string>{});
                std::vector<double> runs;
                std::string summary;
                for (int i = 0; i < 2; ++i) {
                    const CommandResult res =
                        run_command({"lsmem", "--sysroot", d.root()}, 300);
                    if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0)
                        throw Error("g: lsmem --sysroot " + d.root() + ": " +
                                    describe_status(res.status) + "\n" + res.err);
                    if (res.out.find("Total online memory:") == std::string::npos ||
                        res.out.find("1T") == std::string::npos)
                        throw Error("g: unexpected lsmem output:\n" + res.out);
                    runs.push_back(res.seconds * 1000.0);
                    const size_t at = res.out.find("Memory block size");
                    summary = at == std::string::npos ? res.out : res.out.substr(at);
                }
                d.stop(120);
                Row l{"g", "lsmem --sysroot, 65536 blocks, first run" +
                               std::string(fast ? ", --fast" : ", default mode"),
                      "ms"};
                l.ours = summarize({runs[0]});
                l.details["ours"] = summary_json(*l.ours);
                l.details["second_run_ms"] = runs[1];
                l.details["lsmem_summary"] = summary;
                l.details["daemon_args"] = fast ? json::array({"--fast"}) : json::array();
                l.target = fast ? "≤ 3 s" : "≤ 10 s";
                l.target_unit = "s";
                l.target_value = runs[0] / 1000.0;
                l.target_limit = fast ? 3.0 : 10.0;
                add(std::move(l));
                Row l2{"g", "  same, second run (kernel caches warm) (info)", "ms"};
                l2.ours = summarize({runs[1]});
                l2.details["ours"] = summary_json(*l2.ours);
                add(std::move(l2));
            }
        }
    }
}

// Other processes competing for the CPUs delay the daemon's threads: the rows with daemon round
// trips (in the default mode all reads of files that can change, a2's peers, b, d, e, f, the
// first lsmem) suffer most. Say so next to the numbers.
void Bench::warn_about_load() {
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double worst = 0;
    for (const char* key : {"loadavg_at_start", "loadavg_at_end"})
        if (env_.contains(key))
            worst = std::max(worst, std::strtod(env_[key].get<std::string>().c_str(), nullptr));
    if (cpus > 0 && worst > static_cast<double>(cpus)) {
        char text[400];
        std::snprintf(text, sizeof text,
                      "the host was busy: 1-minute load average up to %.1f on %ld CPUs. Rows that "
                      "wait for a FUSE server (the default mode's a, a1, a3, b, d, e, the floor "
                      "server, LXCFS, f, lsmem) are inflated; rerun on an idle machine for firm "
                      "numbers.",
                      worst, cpus);
        notes_.insert(notes_.begin(), text);
    }
}

// ---- output ---------------------------------------------------------------------------------

std::string num(const std::optional<double>& v, const char* suffix) {
    if (!v) return "—";
    char buf[64];
    const double x = *v;
    if (x < 10)
        std::snprintf(buf, sizeof buf, "%.2f%s", x, suffix);
    else if (x < 1000)
        std::snprintf(buf, sizeof buf, "%.1f%s", x, suffix);
    else
        std::snprintf(buf, sizeof buf, "%.0f%s", x, suffix);
    return buf;
}

std::string met_text(const Row& r) {
    if (r.target.empty()) return "";
    const auto m = r.met();
    if (!m) return "n/a (" + r.why_unmet + ")";
    if (r.failed) return "**not met** (" + r.why_unmet + ")";
    const std::string unit = r.target_unit == "x" ? "×" : " " + r.target_unit;
    return std::string(*m ? "met" : "**not met**") + " (" + num(r.target_value) + unit + ")";
}

void Bench::print_table() const {
    std::printf(
        "\n| row | measurement | unit | p50 | p90 | kernel p50 | tmpfs p50 | × kernel | × tmpfs | "
        "target | met? |\n");
    std::printf("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|\n");
    for (const Row& r : rows_) {
        const bool single = r.ours && r.ours->n <= 1;
        std::printf(
            "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.id.c_str(),
            r.name.c_str(), r.unit == "us" ? "µs" : r.unit.c_str(),
            num(r.ours ? std::optional<double>(r.ours->p50) : std::nullopt).c_str(),
            single ? "—" : num(r.ours ? std::optional<double>(r.ours->p90) : std::nullopt).c_str(),
            num(r.kernel_p50).c_str(), num(r.tmpfs_p50).c_str(), num(r.ratio_kernel, "×").c_str(),
            num(r.ratio_tmpfs, "×").c_str(), r.target.empty() ? "(info)" : r.target.c_str(),
            met_text(r).c_str());
    }
    std::printf("\n");
    if (!kernel_.available)
        std::printf("Kernel baseline: NOT MEASURED — %s. Ratios to the kernel are n/a.\n",
                    kernel_.reason.c_str());
    else
        std::printf("Kernel baseline: %s/memory%" PRIu64 " (%zu blocks, block size 0x%s).\n",
                    kernel_.memory.c_str(), kernel_.block, kernel_.blocks,
                    kernel_.block_size.c_str());
    std::printf("hotplugfs: built-in default machine, default (exact) mode unless --fast is "
                "named, memory%" PRIu64 " (online) for a/c, memory%" PRIu64
                " (offline, toggled) for b/e; tmpfs: a copy of its block files.\n",
                online_block_, offline_block_);
    std::printf("Floor (F): bench/floor_server.cpp, a minimal libfuse3 low-level server (files "
                "opened with FOPEN_DIRECT_IO and FOPEN_KEEP_CACHE), the faster of its two "
                "session loops. LXCFS (L): %s.\n",
                opt_.lxcfs_none      ? "not used (--lxcfs none)"
                : opt_.lxcfs.empty() ? "not installed, skipped"
                                     : (opt_.lxcfs + " " + lxcfs_version_ +
                                        ", its own mount and PID file").c_str());
    if (!opt_.daemon_args.empty()) {
        std::string args;
        for (const auto& a : opt_.daemon_args) args += " " + a;
        std::printf("Daemon of rows a-e started with:%s\n", args.c_str());
    }
    for (const auto& n : notes_) std::printf("Note: %s\n", n.c_str());
    std::fflush(stdout);
}

json Bench::to_json() const {
    json rows = json::array();
    for (const Row& r : rows_) {
        json j{{"id", r.id}, {"measurement", r.name}, {"unit", r.unit}};
        j["p50"] = r.ours ? json(r.ours->p50) : json(nullptr);
        j["p90"] = r.ours && r.ours->n > 1 ? json(r.ours->p90) : json(nullptr);
        j["kernel_p50"] = opt_json(r.kernel_p50);
        j["tmpfs_p50"] = opt_json(r.tmpfs_p50);
        j["ratio_vs_kernel"] = opt_json(r.ratio_kernel);
        j["ratio_vs_tmpfs"] = opt_json(r.ratio_tmpfs);
        if (r.target.empty()) {
            j["target"] = nullptr;
        } else {
            j["target"] = json{{"text", r.target},
                               {"value", opt_json(r.target_value)},
                               {"limit", opt_json(r.target_limit)},
                               {"unit", r.target_unit}};
        }
        if (!r.ref_name.empty())
            j["reference"] = json{{"what", r.ref_name},
                                  {"p50", opt_json(r.ref_p50)},
                                  {"ratio", opt_json(r.ref_p50 ? r.target_value : std::nullopt)}};
        const auto m = r.met();
        j["met"] = r.target.empty() ? json(nullptr) : m ? json(*m) : json(nullptr);
        if (!r.target.empty()) j["met_text"] = m ? (*m ? "met" : "not met") : "not judged";
        if (!r.why_unmet.empty()) j["not_judged_because"] = r.why_unmet;
        j["details"] = r.details;
        rows.push_back(std::move(j));
    }
    json kernel{{"available", kernel_.available}};
    if (kernel_.available) {
        kernel["path"] = kernel_.memory;
        kernel["block"] = kernel_.block;
        kernel["blocks"] = kernel_.blocks;
        kernel["block_size_bytes"] = "0x" + kernel_.block_size;
        kernel["harmless_write_measured"] = kernel_.writable;
    } else {
        kernel["skipped_because"] = kernel_.reason;
    }
    size_t judged = 0, met = 0;
    for (const Row& r : rows_)
        if (auto m = r.met()) {
            ++judged;
            met += *m;
        }
    return json{{"tool", "hotplugfs-bench"},
                {"mode", opt_.quick ? "quick" : "full"},
                {"environment", env_},
                {"kernel_baseline", kernel},
                {"hotplugfs", json{{"machine", "built-in default"},
                                   {"mode", "default (exact)"},
                                   {"daemon_args", opt_.daemon_args},
                                   {"online_block", online_block_},
                                   {"offline_block", offline_block_}}},
                {"iterations", json{{"read_stat", n_.iters},
                                    {"read_stat_warmup", n_.warmup},
                                    {"write", n_.write_iters},
                                    {"write_warmup", n_.write_warmup},
                                    {"scans", n_.scans},
                                    {"hotadd_repetitions", n_.hotadd_reps},
                                    {"starts_per_size", n_.starts},
                                    {"lookups", n_.lookups}}},
                {"peers", json{{"floor_server", opt_.floor},
                               {"lxcfs", opt_.lxcfs.empty() ? json(nullptr) : json(opt_.lxcfs)},
                               {"lxcfs_version", lxcfs_version_},
                               {"lxcfs_file", kLxcfsFile}}},
                {"rows", rows},
                {"targets", json{{"judged", judged}, {"met", met}}},
                {"notes", notes_}};
}

void collect_environment(json& env, const std::string& daemon) {
    utsname u{};
    uname(&u);
    env["kernel"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
    env["cpus_online"] = sysconf(_SC_NPROCESSORS_ONLN);
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line))
        if (line.starts_with("model name")) {
            env["cpu"] = line.substr(line.find(':') + 2);
            break;
        }
    std::ifstream meminfo("/proc/meminfo");
    while (std::getline(meminfo, line))
        if (line.starts_with("MemTotal:")) {
            env["mem_total_kib"] = std::strtol(line.c_str() + 9, nullptr, 10);
            break;
        }
    env["daemon"] = daemon;
    try {
        auto r = run_command({"lsmem", "--version"}, 10);
        while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
        env["lsmem"] = r.out;
    } catch (const std::exception&) {
    }
    std::ifstream loadavg("/proc/loadavg");
    if (std::getline(loadavg, line)) env["loadavg_at_start"] = line;
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    env["date"] = date;
}

int Bench::run() {
    tmp_ = std::make_unique<TempDir>();
    collect_environment(env_, opt_.daemon);
    find_kernel_baseline();
    if (!kernel_.available) progress("kernel baseline skipped: " + kernel_.reason);
    if (!opt_.lxcfs.empty()) {
        try {
            const CommandResult v = run_command({opt_.lxcfs, "--version"}, 10);
            lxcfs_version_ = v.out.empty() ? v.err : v.out;
            std::erase_if(lxcfs_version_, [](char c) {
                return c == '"' || std::isspace(static_cast<unsigned char>(c));
            });  // lxcfs 5.0 prints "5.0.3" with the quotes
        } catch (const std::exception&) {
        }
        env_["lxcfs"] = lxcfs_version_;
    }

    const uint64_t t_start = now_ns();
    main_ = std::make_unique<Daemon>(opt_.daemon, tmp_->path(), "default");
    main_->start(std::nullopt, opt_.daemon_args);
    Fd mem(open_dir(main_->mem()));
    ours_mem_ = mem.fd;
    // Blocks of the built-in machine: an online one in the middle, the first offline one.
    std::vector<uint64_t> online, offline;
    for (uint64_t b : list_blocks(ours_mem_)) {
        const std::string s = slurp_at(ours_mem_, block_path(b, "state"));
        (s == "online\n" ? online : offline).push_back(b);
    }
    if (online.empty() || offline.empty())
        throw Error("the default machine lacks online or offline blocks");
    online_block_ = online[online.size() / 2];
    offline_block_ = offline.front();
    copy_to_tmpfs();
    Fd tmpfs_mem(tmpfs_mem_);

    if (want('a')) row_a();
    if (want('c')) row_c();
    if (want('d')) row_d();
    if (want('b')) row_b();
    if (want('e')) row_e();
    main_->stop();
    if (want('f')) row_f();
    if (want('g')) row_g();
    // Rows in a-g order (a1-a3, F and L after a, e2 after e), measured in the order above.
    auto group = [](const Row& r) { return r.id == "F" || r.id == "L" ? 'a' : r.id[0]; };
    std::stable_sort(rows_.begin(), rows_.end(),
                     [&](const Row& x, const Row& y) { return group(x) < group(y); });
    env_["bench_seconds"] = static_cast<double>(now_ns() - t_start) / 1e9;
    {
        std::ifstream loadavg("/proc/loadavg");
        std::string line;
        if (std::getline(loadavg, line)) env_["loadavg_at_end"] = line;
    }

    warn_about_load();
    print_table();
    if (opt_.out) {
        std::filesystem::path out(*opt_.out);
        if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
        write_text_file(*opt_.out, to_json().dump(2) + "\n");
        std::printf("Results written to %s\n", opt_.out->c_str());
    }
    return 0;
}

// An executable named `name` in PATH or the usual system directories ("" if none).
std::string find_in_path(const std::string& name) {
    const char* env = std::getenv("PATH");
    std::string dirs = std::string(env ? env : "") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    size_t at = 0;
    while (at <= dirs.size()) {
        const size_t end = std::min(dirs.find(':', at), dirs.size());
        const std::string dir = dirs.substr(at, end - at);
        at = end + 1;
        if (dir.empty()) continue;
        const std::string path = dir + "/" + name;
        if (access(path.c_str(), X_OK) == 0) return path;
    }
    return "";
}

std::optional<Options> parse(int argc, char** argv, int& exit_code) {
    Options o;
    bool lxcfs_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw Error(a + " needs a value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            exit_code = 0;
            return std::nullopt;
        } else if (a == "--daemon") {
            o.daemon = value();
        } else if (a == "--out") {
            o.out = value();
        } else if (a == "--quick") {
            o.quick = true;
        } else if (a == "--only") {
            o.only = value();
        } else if (a == "--kernel-sysfs") {
            o.kernel_sysfs = value();
        } else if (a == "--rules-dir") {
            o.rules_dir = value();
        } else if (a == "--daemon-arg") {
            o.daemon_args.push_back(value());
        } else if (a == "--floor") {
            o.floor = value();
        } else if (a == "--lxcfs") {
            o.lxcfs = value();
            lxcfs_given = true;
        } else {
            throw Error("unknown argument " + a);
        }
    }
    if (o.daemon.empty()) throw Error("--daemon PATH is required");
    std::error_code ec;
    const auto abs = std::filesystem::canonical(o.daemon, ec);
    if (ec || access(abs.c_str(), X_OK) != 0) throw Error("not an executable: " + o.daemon);
    o.daemon = abs.string();
    if (o.floor.empty()) {
        const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
        if (!ec) o.floor = (self.parent_path() / "hotplugfs-floor").string();
    }
    if (!lxcfs_given) {
        o.lxcfs = find_in_path("lxcfs");
    } else if (o.lxcfs == "none") {
        o.lxcfs.clear();
        o.lxcfs_none = true;
    } else if (access(o.lxcfs.c_str(), X_OK) != 0) {
        throw Error("not an executable: " + o.lxcfs);
    }
    return o;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
    using namespace bench;
    int exit_code = 2;
    std::optional<Options> opt;
    try {
        opt = parse(argc, argv, exit_code);
    } catch (const Error& e) {
        std::fprintf(stderr, "hotplugfs-bench: %s\n%s", e.what(), kUsage);
        return 2;
    }
    if (!opt) return exit_code;
    if (geteuid() != 0) {
        std::fprintf(stderr,
                     "hotplugfs-bench: needs root (tmpfs and FUSE mounts, kernel sysfs write)\n");
        return 2;
    }
    install_signal_handlers();
    // Daemons detach from their start command; as subreaper we become their parent, so they
    // can be waited for (and their PIDs cannot be reused) until we reap them.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    try {
        Bench b(std::move(*opt));
        return b.run();  // daemons, tmpfs and the temporary directory go away with b
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotplugfs-bench: error: %s\n", e.what());
        return 1;
    }
}
