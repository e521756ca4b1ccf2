// hotplugfs-stress: a multi-process consistency stress test for a hotplugfs mount (or any
// memory-hotplug sysfs root).
//
// Writers (one process each) own disjoint sets of memory blocks, change their state through
// `state` and `online` exactly as echo/printf would, predict every result from the state they
// expect (spec §4) and check read-your-writes right after each successful change. Readers (one
// process each) read random attributes and check every result is well formed. At the end the
// parent checks every block against what its owner last expected, and that every valid_zones, node
// mask and meminfo is well formed. Exit status 1 on any violation.
//
// --mode strict (the default) holds the mount to kernel semantics: every malformed read is a
// violation (a daemon in its default, exact mode). --mode fast is for a daemon started with
// --fast (the page-cache mode), where a reader of a block's state, online or valid_zones that
// overlaps a store to that block may see the store's bytes merged into the old content or old
// bytes cut to a new length: such reads by reader processes are counted and reported as
// concurrent-write anomalies, not violations. Everything
// else stays a violation in both modes: store results, read-your-writes, node masks, meminfo,
// read errors and the quiescent check at the end. `--mode exact` is another name for strict.
//
// --watch B-E and --may-vanish B-E add blocks that something other than the writers changes
// (D-Bus calls, udev rules, memory devices plugged and unplugged): readers read their state,
// online and valid_zones too, and every read must be well formed, as for the owned blocks; no
// state is expected of them and the final check skips them. A --may-vanish block may be absent
// or vanish at any time: ENOENT from the open or the read of its files is counted as a vanished
// read, not a violation.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <map>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

// --- violation kinds ---------------------------------------------------------------------------
enum Kind : int {
    kWriteResult,     // a store returned something other than the prediction
    kWriteIo,         // open/close around a store failed
    kReadIo,          // open/read/close failed
    kRywState,        // read-your-writes: state after a successful store
    kRywOnline,       // read-your-writes: online after a successful store
    kRywValidZones,   // read-your-writes: valid_zones after online_movable
    kBadState,        // a reader saw a malformed state
    kBadOnline,       // a reader saw a malformed online
    kBadValidZones,   // a reader saw a malformed valid_zones
    kBadHasMemory,    // a reader saw a malformed node/has_memory
    kBadHasNormal,    // a reader saw a malformed node/has_normal_memory
    kBadMeminfo,      // a reader saw a malformed nodeK/meminfo
    kFinalOnline,     // quiescent: online disagrees with state
    kFinalState,      // quiescent: state differs from the owner's expectation
    kFinalMalformed,  // quiescent: valid_zones, a node mask or a meminfo is malformed
    kChild,           // a child process failed, crashed or hung
    // --mode fast only: a reader saw a malformed block attribute (not a violation).
    kAnomState,
    kAnomOnline,
    kAnomValidZones,
    kKinds
};

bool is_anomaly(int k) {
    return k == kAnomState || k == kAnomOnline || k == kAnomValidZones;
}

// Where the stores to a block stood while a reader read one of its attributes.
enum Overlap : int {
    kOvSameFile,  // a store to the very file read overlapped the read
    kOvSibling,   // only stores to the block's other attribute overlapped (valid_zones: any)
    kOvNone,      // no store to this block overlapped the read
    kOvExternal,  // a --watch/--may-vanish block: changed by others, overlap unknown
    kOverlaps
};

constexpr const char* kOverlapNames[kOverlaps] = {
    "overlapping a store to the same file",
    "overlapping only a store to the block's other attribute",
    "no store to the block overlapped",
    "a watched block (changed by others, not by the writers)",
};

constexpr const char* kKindNames[kKinds] = {
    "write_result",
    "write_io",
    "read_io",
    "ryw_state",
    "ryw_online",
    "ryw_valid_zones",
    "bad_state",
    "bad_online",
    "bad_valid_zones",
    "bad_has_memory",
    "bad_has_normal_memory",
    "bad_meminfo",
    "final_online_vs_state",
    "final_state_vs_expected",
    "final_malformed",
    "child",
    "anomaly_state",
    "anomaly_online",
    "anomaly_valid_zones",
};

constexpr int kMaxExamples = 10;
constexpr size_t kExampleBytes = 120;

struct Example {
    uint64_t t_ns;
    int block;     // -1 when the file belongs to no block
    uint32_t len;  // bytes captured in `bytes` (the original may be longer, see `truncated`)
    uint8_t truncated;
    char file[48];
    char bytes[kExampleBytes];
    char detail[400];
};

// How often one byte string was seen for one kind of violation.
constexpr int kMaxDistinct = 24;
constexpr size_t kDistinctBytes = 40;
struct Distinct {
    uint64_t count;
    uint32_t len;
    char file[24];  // the attribute's last path component
    char bytes[kDistinctBytes];
};

// One per child, in memory shared with the parent (MAP_SHARED before fork).
struct Slot {
    std::atomic<uint64_t> ops;  // progress, read by the parent while the child runs
    uint64_t writes_ok;         // stores that succeeded as predicted
    uint64_t writes_refused;    // stores that failed as predicted
    uint64_t changes;           // stores that changed a block's state
    uint64_t reads;             // attribute reads (reader reads and verification reads)
    uint64_t watched_reads;     // reader reads of --watch/--may-vanish blocks
    uint64_t watched_ok;        // ... that returned well-formed bytes
    uint64_t vanished_open;     // ... of --may-vanish blocks whose open failed ENOENT
    uint64_t vanished_read;     // ... of --may-vanish blocks whose read failed ENOENT
    uint64_t counts[kKinds];
    uint32_t nexamples[kKinds];
    Example examples[kKinds][kMaxExamples];
    uint32_t ndistinct[kKinds];
    uint64_t other[kKinds];  // occurrences not in `distinct` (table full or bytes too long)
    Distinct distinct[kKinds][kMaxDistinct];
    uint64_t overlap[kKinds][kOverlaps];  // reader findings on block attributes, by Overlap
    uint32_t nlone[kKinds];               // examples of findings that no store overlapped
    Example lone[kKinds][kMaxExamples];
    int finished;  // the child reached its normal end
};

// One per block, shared: a writer bumps a counter when it starts a store to `state` or `online`
// (odd: in progress) and again when the store's close() returned (even). Readers compare the
// counters before their open() and after their close() to tell whether a store overlapped.
struct BlockSeq {
    std::atomic<uint64_t> state;
    std::atomic<uint64_t> online;
    std::atomic<uint32_t> action;    // index into actions() of the latest store started
    std::atomic<uint64_t> ended_ns;  // when the latest store's close() returned (now_ns)
};

enum class BlockState : uint8_t { Offline = 0, Online = 1 };

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void sleep_ms(long ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, nullptr);
}

void copy_cstr(char* dst, size_t cap, std::string_view src) {
    const size_t n = std::min(cap - 1, src.size());
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
}

std::string_view last_component(std::string_view file) {
    const size_t slash = file.rfind('/');
    return slash == std::string_view::npos ? file : file.substr(slash + 1);
}

void count_distinct(Slot& slot, Kind kind, std::string_view file, std::string_view bytes) {
    file = last_component(file);
    if (bytes.size() > kDistinctBytes || file.size() >= sizeof(Distinct::file)) {
        ++slot.other[kind];
        return;
    }
    for (uint32_t d = 0; d < slot.ndistinct[kind]; ++d) {
        Distinct& x = slot.distinct[kind][d];
        if (std::string_view(x.bytes, x.len) == bytes && file == x.file) {
            ++x.count;
            return;
        }
    }
    if (slot.ndistinct[kind] >= kMaxDistinct) {
        ++slot.other[kind];
        return;
    }
    Distinct& x = slot.distinct[kind][slot.ndistinct[kind]++];
    x.count = 1;
    x.len = static_cast<uint32_t>(bytes.size());
    std::memcpy(x.bytes, bytes.data(), bytes.size());
    copy_cstr(x.file, sizeof x.file, file);
}

void fill_example(Example& e, int block, std::string_view file, std::string_view bytes,
                  std::string_view detail) {
    e.t_ns = now_ns();
    e.block = block;
    e.len = static_cast<uint32_t>(std::min(bytes.size(), kExampleBytes));
    e.truncated = bytes.size() > kExampleBytes;
    std::memcpy(e.bytes, bytes.data(), e.len);
    copy_cstr(e.file, sizeof e.file, file);
    copy_cstr(e.detail, sizeof e.detail, detail);
}

// Counts one finding and keeps it as an example while there is room; `lone` findings (a reader's
// malformed read that no store to its block overlapped) are also kept in a list of their own.
void record(Slot& slot, Kind kind, int block, std::string_view file, std::string_view bytes,
            std::string_view detail, bool lone = false) {
    ++slot.counts[kind];
    if (kind != kChild) count_distinct(slot, kind, file, bytes);
    if (lone && slot.nlone[kind] < kMaxExamples)
        fill_example(slot.lone[kind][slot.nlone[kind]++], block, file, bytes, detail);
    if (slot.nexamples[kind] < kMaxExamples)
        fill_example(slot.examples[kind][slot.nexamples[kind]++], block, file, bytes, detail);
}

std::string escape(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\0':
                out += "\\0";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            default:
                if (c >= 0x20 && c < 0x7f) {
                    out += static_cast<char>(c);
                } else {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\x%02x", c);
                    out += hex;
                }
        }
    }
    return out;
}

std::string errno_name(int err) {
    switch (err) {
        case 0:
            return "success";
        case EINVAL:
            return "EINVAL";
        case EBUSY:
            return "EBUSY";
        case EACCES:
            return "EACCES";
        case EPERM:
            return "EPERM";
        case ENOENT:
            return "ENOENT";
        case EINTR:
            return "EINTR";
        case EIO:
            return "EIO";
        case ENOTCONN:
            return "ENOTCONN";
        case ENXIO:
            return "ENXIO";
        case EAGAIN:
            return "EAGAIN";
        default:
            return "errno " + std::to_string(err);
    }
}

// splitmix64: seeds and per-process streams.
uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

class Rng {
  public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        s_ += 0x9e3779b97f4a7c15ull;
        uint64_t z = s_;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    size_t below(size_t n) { return static_cast<size_t>(next() % n); }

  private:
    uint64_t s_;
};

// --- reading and writing one attribute the way shell tools do ----------------------------------
struct ReadOut {
    int err = 0;            // 0, or the errno of the failing step
    const char* step = "";  // "open", "read", "close"
    std::string_view data;  // valid until the next read into the same buffer
};

ReadOut read_once(const std::string& path, char* buf, size_t cap) {
    ReadOut r;
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r.err = errno;
        r.step = "open";
        return r;
    }
    const ssize_t n = read(fd, buf, cap);
    if (n < 0) {
        r.err = errno;
        r.step = "read";
        close(fd);
        return r;
    }
    r.data = std::string_view(buf, static_cast<size_t>(n));
    if (close(fd) != 0) {
        r.err = errno;
        r.step = "close";
    }
    return r;
}

// Returns the write() result: byte count, or -errno (also of a failing open/close: `step`).
long write_once(const std::string& path, std::string_view text, const char** step) {
    *step = "open";
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    *step = "write";
    const ssize_t n = write(fd, text.data(), text.size());
    const long result = n < 0 ? -errno : static_cast<long>(n);
    if (close(fd) != 0 && result >= 0) {
        *step = "close";
        return -errno;
    }
    return result;
}

// After a read-your-writes miss: the size and mtime stat() reports right away, then what the
// file reads again now, 10 ms and 100 ms later, to tell a passing glitch from content that stays.
std::string reread_probe(const std::string& path, char* buf, size_t cap) {
    std::string out = "then stat:";
    struct stat st {};
    if (stat(path.c_str(), &st) == 0)
        out += " size " + std::to_string(st.st_size) + " mtime " +
               std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    else
        out += " " + errno_name(errno);
    out += "; re-read:";
    static constexpr long kDelaysMs[] = {0, 10, 100};
    for (const long ms : kDelaysMs) {
        if (ms) sleep_ms(ms);
        const ReadOut r = read_once(path, buf, cap);
        out += " +" + std::to_string(ms) + "ms ";
        out += r.err ? errno_name(r.err) : "\"" + escape(r.data) + "\"";
    }
    return out;
}

// --- well-formedness ---------------------------------------------------------------------------
bool state_ok(std::string_view s) {
    return s == "online\n" || s == "offline\n" || s == "going-offline\n";
}

bool online_ok(std::string_view s) {
    return s == "0\n" || s == "1\n";
}

bool valid_zones_ok(std::string_view s) {
    if (s.size() < 2 || s.back() != '\n') return false;
    s.remove_suffix(1);
    static constexpr std::string_view kZones[] = {"DMA", "DMA32", "Normal", "Movable", "none"};
    unsigned seen = 0;  // bit per entry of kZones
    size_t count = 0;
    for (;;) {
        const size_t sp = s.find(' ');
        const std::string_view tok = s.substr(0, sp);
        size_t z = 0;
        while (z < std::size(kZones) && kZones[z] != tok) ++z;
        if (z == std::size(kZones) || (seen & (1u << z))) return false;  // unknown or repeated
        seen |= 1u << z;
        ++count;
        if (sp == std::string_view::npos) break;
        s.remove_prefix(sp + 1);
    }
    return count == 1 || !(seen & (1u << 4));  // "none" only alone
}

bool parse_uint(std::string_view& s, unsigned long& v) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p == s.data()) return false;
    if (s.size() > 1 && s[0] == '0' && p - s.data() > 1) return false;  // no leading zeros
    s.remove_prefix(static_cast<size_t>(p - s.data()));
    return true;
}

// Node list: "" or "a[-b](,a[-b])*", ascending, then exactly one "\n".
bool node_list_ok(std::string_view s) {
    if (s.empty() || s.back() != '\n') return false;
    s.remove_suffix(1);
    if (s.empty()) return true;
    long last = -1;
    for (;;) {
        unsigned long a = 0, b = 0;
        if (!parse_uint(s, a)) return false;
        b = a;
        if (!s.empty() && s[0] == '-') {
            s.remove_prefix(1);
            if (!parse_uint(s, b) || b <= a) return false;
        }
        if (static_cast<long>(a) <= last + 1 && last >= 0) return false;  // must be merged
        last = static_cast<long>(b);
        if (s.empty()) return true;
        if (s[0] != ',') return false;
        s.remove_prefix(1);
    }
}

// Each line "Node K <Key>:<spaces><digits>[ kB]"; the key sequence must equal the baseline.
bool meminfo_ok(std::string_view s, int node, const std::vector<std::string>& keys) {
    if (s.empty() || s.back() != '\n') return false;
    const std::string prefix = "Node " + std::to_string(node) + " ";
    size_t line_no = 0;
    while (!s.empty()) {
        const size_t nl = s.find('\n');
        std::string_view line = s.substr(0, nl);
        s.remove_prefix(nl + 1);
        if (line.substr(0, prefix.size()) != prefix) return false;
        line.remove_prefix(prefix.size());
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return false;
        if (line_no >= keys.size() || line.substr(0, colon) != keys[line_no]) return false;
        ++line_no;
        line.remove_prefix(colon + 1);
        size_t spaces = 0;
        while (spaces < line.size() && line[spaces] == ' ') ++spaces;
        if (spaces == 0) return false;
        line.remove_prefix(spaces);
        if (line.size() > 3 && line.substr(line.size() - 3) == " kB") line.remove_suffix(3);
        if (line.empty()) return false;
        for (char c : line)
            if (c < '0' || c > '9') return false;
    }
    return line_no == keys.size();
}

// The key sequence of a (known good) meminfo; empty on a malformed one.
std::vector<std::string> meminfo_keys(std::string_view s, int node) {
    std::vector<std::string> keys;
    const std::string prefix = "Node " + std::to_string(node) + " ";
    if (s.empty() || s.back() != '\n') return {};
    while (!s.empty()) {
        const size_t nl = s.find('\n');
        std::string_view line = s.substr(0, nl);
        s.remove_prefix(nl + 1);
        if (line.substr(0, prefix.size()) != prefix) return {};
        line.remove_prefix(prefix.size());
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return {};
        keys.emplace_back(line.substr(0, colon));
    }
    return keys;
}

// --- options -----------------------------------------------------------------------------------
struct Options {
    std::string root;
    uint64_t ops = 0;
    int writers = 2;
    int readers = 2;
    uint64_t seed = 0;
    bool seed_set = false;
    int first_block = 72;
    int last_block = 135;
    double stall_timeout = 60.0;  // no progress at all for this long: children are killed
    double timeout = 0.0;         // overall limit (0: none)
    bool fast = false;            // --mode fast: readers' malformed block reads are anomalies
    // --watch / --may-vanish: blocks the writers do not own, as inclusive ranges.
    std::vector<std::pair<int, int>> watch, may_vanish;
};

[[noreturn]] void usage(const char* msg) {
    if (msg) std::fprintf(stderr, "hotplugfs-stress: %s\n", msg);
    std::fprintf(stderr,
                 "usage: hotplugfs-stress --root SYSFS_ROOT --ops N [--writers W] [--readers R]\n"
                 "                        [--seed S] [--first-block B] [--last-block B]\n"
                 "                        [--stall-timeout SEC] [--timeout SEC]\n"
                 "                        [--mode strict|exact|fast]\n"
                 "                        [--watch B-E]... [--may-vanish B-E]...\n"
                 "  --mode strict  every malformed read is a violation (default; for a daemon\n"
                 "                 in its default exact mode; `exact` is another name for it)\n"
                 "  --mode fast    a reader's malformed state/online/valid_zones read is counted\n"
                 "                 as a concurrent-write anomaly, not a violation (for a daemon\n"
                 "                 started with --fast, the page-cache mode)\n"
                 "  --watch B-E    readers also read blocks B..E (B, or a comma list of ranges),\n"
                 "                 which something other than the writers changes (D-Bus, udev\n"
                 "                 rules, memory devices); their reads must be well formed, the\n"
                 "                 final check does not judge them; not within the writers'\n"
                 "                 --first-block..--last-block\n"
                 "  --may-vanish B-E  as --watch, and the blocks may be absent or vanish (unplugged\n"
                 "                 memory): ENOENT from open or read is counted, not a violation\n");
    std::exit(2);
}

template <typename T>
T parse_number(const char* opt, const char* text) {
    T v{};
    const std::string_view s(text);
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
        const std::string msg = std::string("bad value for ") + opt + ": " + text;
        usage(msg.c_str());
    }
    return v;
}

// "B", "B-E" or a comma list of them, appended to `out` as inclusive ranges.
void parse_ranges(const char* opt, const char* text, std::vector<std::pair<int, int>>& out) {
    std::string_view s(text);
    const std::string bad = std::string("bad value for ") + opt + ": " + text;
    for (;;) {
        const size_t comma = s.find(',');
        const std::string_view item = s.substr(0, comma);
        const size_t dash = item.find('-');
        int a = 0, b = 0;
        auto number = [&](std::string_view t, int& v) {
            const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
            return ec == std::errc() && p == t.data() + t.size() && !t.empty() && v >= 0;
        };
        if (!number(item.substr(0, dash), a)) usage(bad.c_str());
        b = a;
        if (dash != std::string_view::npos && !number(item.substr(dash + 1), b)) usage(bad.c_str());
        if (b < a || b - a >= (1 << 20)) usage(bad.c_str());  // at most 2^20 blocks a range
        out.emplace_back(a, b);
        if (comma == std::string_view::npos) return;
        s.remove_prefix(comma + 1);
    }
}

double parse_seconds(const char* opt, const char* text) {
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (!end || *end || v < 0) {
        const std::string msg = std::string("bad value for ") + opt + ": " + text;
        usage(msg.c_str());
    }
    return v;
}

Options parse_options(int argc, char** argv) {
    Options o;
    bool have_ops = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a(argv[i]);
        if (a == "-h" || a == "--help") usage(nullptr);
        if (i + 1 >= argc) usage(("missing value for " + std::string(a)).c_str());
        const char* v = argv[++i];
        if (a == "--root") {
            o.root = v;
        } else if (a == "--ops") {
            o.ops = parse_number<uint64_t>("--ops", v);
            have_ops = true;
        } else if (a == "--writers") {
            o.writers = parse_number<int>("--writers", v);
        } else if (a == "--readers") {
            o.readers = parse_number<int>("--readers", v);
        } else if (a == "--seed") {
            o.seed = parse_number<uint64_t>("--seed", v);
            o.seed_set = true;
        } else if (a == "--first-block") {
            o.first_block = parse_number<int>("--first-block", v);
        } else if (a == "--last-block") {
            o.last_block = parse_number<int>("--last-block", v);
        } else if (a == "--stall-timeout") {
            o.stall_timeout = parse_seconds("--stall-timeout", v);
        } else if (a == "--timeout") {
            o.timeout = parse_seconds("--timeout", v);
        } else if (a == "--mode") {
            const std::string_view m(v);
            if (m == "fast")
                o.fast = true;
            else if (m == "strict" || m == "exact")
                o.fast = false;
            else
                usage(("bad value for --mode: " + std::string(m) + " (strict, exact or fast)")
                          .c_str());
        } else if (a == "--watch") {
            parse_ranges("--watch", v, o.watch);
        } else if (a == "--may-vanish") {
            parse_ranges("--may-vanish", v, o.may_vanish);
        } else {
            usage(("unknown option " + std::string(a)).c_str());
        }
    }
    if (o.root.empty()) usage("--root is required");
    if (!have_ops) usage("--ops is required");
    if (o.writers < 0 || o.readers < 0 || o.writers + o.readers == 0)
        usage("need at least one writer or reader");
    if (o.writers + o.readers > 1024) usage("too many processes (at most 1024)");
    if (o.first_block < 0 || o.last_block < o.first_block) usage("bad block range");
    if (o.writers > o.last_block - o.first_block + 1)
        usage("more writers than blocks: each writer must own at least one block");
    for (const auto* list : {&o.watch, &o.may_vanish})
        for (const auto& [a, b] : *list)
            if (a <= o.last_block && b >= o.first_block)
                usage(("watched blocks " + std::to_string(a) + "-" + std::to_string(b) +
                       " overlap the writers' blocks " + std::to_string(o.first_block) + "-" +
                       std::to_string(o.last_block))
                          .c_str());
    if (o.stall_timeout <= 0) o.stall_timeout = 60.0;
    return o;
}

// --- the tree ----------------------------------------------------------------------------------
struct Tree {
    std::string memory;  // ROOT/devices/system/memory
    std::string node;    // ROOT/devices/system/node
    int first = 0;
    int nblocks = 0;  // the writers' blocks: indices 0 .. nblocks-1, blocks first ..
    int nall = 0;     // every block readers read: then the watched ones, ascending
    std::vector<int> ids;                                 // block number per index
    std::vector<uint8_t> may_vanish;                      // per index: ENOENT is accepted
    std::vector<std::string> state, online, valid_zones;  // per index
    std::string has_memory, has_normal;
    std::vector<int> nodes;                      // node ids that have meminfo
    std::vector<std::string> meminfo;            // per entry of `nodes`
    std::vector<std::string> meminfo_names;      // "node/nodeK/meminfo" per entry of `nodes`
    std::vector<std::vector<std::string>> keys;  // meminfo key sequence per entry of `nodes`

    int block(size_t i) const { return ids[i]; }
    bool watched(size_t i) const { return i >= static_cast<size_t>(nblocks); }
};

// --- writers -----------------------------------------------------------------------------------
// `word` for `state`: 0 online, 1 offline, 2 online_kernel, 3 online_movable; for `online`:
// 1 true, 0 false.
struct Action {
    bool to_state;  // writes `state` (else `online`)
    std::string_view text;
    int word;
};

const std::vector<Action>& actions() {
    static const std::vector<Action> list = {
        {true, "online", 0},
        {true, "online\n", 0},
        {true, "offline", 1},
        {true, "offline\n", 1},
        {true, "online_kernel", 2},
        {true, "online_kernel\n", 2},
        {true, "online_movable", 3},
        {true, "online_movable\n", 3},
        {false, "1", 1},
        {false, "1\n", 1},
        {false, "0", 0},
        {false, "0\n", 0},
        {false, "on", 1},
        {false, "on\n", 1},
        {false, "off", 0},
        {false, "off\n", 0},
    };
    return list;
}

const char* state_text(BlockState s) {
    return s == BlockState::Online ? "online\n" : "offline\n";
}

// `expected` (shared with the parent) holds the expected state of every block in range; this
// writer updates only the entries of the blocks it owns.
// `seqs` (shared) tells readers when a store to a block is under way.
void run_writer(int w, int writers, uint64_t ops, uint64_t seed, const Tree& t, Slot& slot,
                uint8_t* expected, BlockSeq* seqs) {
    std::vector<size_t> owned;
    for (size_t i = static_cast<size_t>(w); i < static_cast<size_t>(t.nblocks);
         i += static_cast<size_t>(writers))
        owned.push_back(i);
    Rng rng(seed);
    std::vector<char> buf(4096);
    const auto& acts = actions();
    for (uint64_t op = 0; op < ops; ++op) {
        const size_t i = owned[rng.below(owned.size())];
        const int block = t.block(i);
        const size_t action = rng.below(acts.size());
        const Action& a = acts[action];
        const BlockState before = static_cast<BlockState>(expected[i]);
        const bool was_online = before == BlockState::Online;

        // Prediction (spec §4).
        bool ok;
        BlockState after = before;
        if (a.to_state) {
            const bool online_word = a.word != 1;
            ok = online_word ? !was_online : was_online;
            if (ok) after = online_word ? BlockState::Online : BlockState::Offline;
        } else {
            ok = true;  // `online` stores are no-ops when already there
            after = a.word ? BlockState::Online : BlockState::Offline;
        }
        const long want = ok ? static_cast<long>(a.text.size()) : -EINVAL;

        const std::string& path = a.to_state ? t.state[i] : t.online[i];
        const char* file = a.to_state ? "state" : "online";
        const char* step = "";
        BlockSeq& seq = seqs[i];
        std::atomic<uint64_t>& counter = a.to_state ? seq.state : seq.online;
        seq.action.store(static_cast<uint32_t>(action));
        counter.fetch_add(1);  // odd: a store is under way (from before open to after close)
        const long got = write_once(path, a.text, &step);
        seq.ended_ns.store(now_ns());
        counter.fetch_add(1);
        char detail[200];  // filled only when something is to be reported
        auto describe = [&] {
            std::snprintf(detail, sizeof detail, "writer %d: %s <- \"%s\" on %s block", w, file,
                          escape(a.text).c_str(), was_online ? "online" : "offline");
        };

        if (got != want) {
            describe();
            char d2[400];
            if (got < 0 && std::strcmp(step, "write") != 0) {
                std::snprintf(d2, sizeof d2, "%s: %s failed %s", detail, step,
                              errno_name(static_cast<int>(-got)).c_str());
                record(slot, kWriteIo, block, file, a.text, d2);
            } else {
                std::snprintf(d2, sizeof d2, "%s: expected %s, got %s", detail,
                              want < 0 ? "EINVAL" : std::to_string(want).c_str(),
                              got < 0 ? errno_name(static_cast<int>(-got)).c_str()
                                      : std::to_string(got).c_str());
                record(slot, kWriteResult, block, file, a.text, d2);
            }
            // Resynchronise with what the daemon now says, so one miss is not counted forever.
            const ReadOut r = read_once(t.state[i], buf.data(), buf.size());
            if (r.err == 0 && (r.data == "online\n" || r.data == "offline\n"))
                expected[i] = static_cast<uint8_t>(r.data == "online\n" ? BlockState::Online
                                                                        : BlockState::Offline);
            slot.ops.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        if (!ok) {
            ++slot.writes_refused;
            slot.ops.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        ++slot.writes_ok;
        if (after != before) ++slot.changes;
        expected[i] = static_cast<uint8_t>(after);

        // Read-your-writes.
        const std::string_view want_state = state_text(after);
        const std::string_view want_online = after == BlockState::Online ? "1\n" : "0\n";
        struct Check {
            const std::string* path;
            const char* file;
            std::string_view want;
            Kind kind;
        };
        Check checks[3] = {{&t.state[i], "state", want_state, kRywState},
                           {&t.online[i], "online", want_online, kRywOnline},
                           {&t.valid_zones[i], "valid_zones", "Movable\n", kRywValidZones}};
        const size_t nchecks = (a.to_state && a.word == 3) ? 3 : 2;
        for (size_t c = 0; c < nchecks; ++c) {
            const ReadOut r = read_once(*checks[c].path, buf.data(), buf.size());
            ++slot.reads;
            char d2[400];
            if (r.err) {
                describe();
                std::snprintf(d2, sizeof d2, "%s: then %s of %s failed %s", detail, r.step,
                              checks[c].file, errno_name(r.err).c_str());
                record(slot, kReadIo, block, checks[c].file, r.data, d2);
            } else if (r.data != checks[c].want) {
                const std::string got_bytes(r.data);  // the probe reuses `buf`
                describe();
                // Probed only while examples are kept: each probe sleeps 110 ms.
                const std::string probe =
                    slot.nexamples[checks[c].kind] < kMaxExamples
                        ? reread_probe(*checks[c].path, buf.data(), buf.size())
                        : "not probed (enough examples)";
                std::snprintf(d2, sizeof d2, "%s: write returned %ld, then expected \"%s\"; %s",
                              detail, got, escape(checks[c].want).c_str(), probe.c_str());
                record(slot, checks[c].kind, block, checks[c].file, got_bytes, d2);
            }
        }
        slot.ops.fetch_add(1, std::memory_order_relaxed);
    }
}

// --- readers -----------------------------------------------------------------------------------
// The stores a BlockSeq counter saw between two loads: the one under way at the first load (odd)
// plus every store started since (each start makes the counter odd).
uint64_t stores_between(uint64_t before, uint64_t after) {
    return (before & 1) + (after + 1) / 2 - (before + 1) / 2;
}

// In fast mode (`fast`) a malformed state/online/valid_zones is an anomaly, not a violation.
// Either way it is classified by the stores to its block that overlapped the read (`seqs`).
void run_reader(int r_index, uint64_t ops, uint64_t seed, const Tree& t, Slot& slot,
                const BlockSeq* seqs, int writers, bool fast) {
    Rng rng(seed);
    std::vector<char> buf(4096);
    char detail[64];
    std::snprintf(detail, sizeof detail, "reader %d", r_index);
    for (uint64_t op = 0; op < ops; ++op) {
        // Weights: state 25, online 25, valid_zones 20, has_memory 10, has_normal_memory 10,
        // meminfo 10.
        const size_t pick = rng.below(100);
        const size_t i = rng.below(static_cast<size_t>(t.nall));
        int block = t.block(i);
        const std::string* path;
        const char* file;
        Kind kind;
        int node = -1;
        size_t node_index = 0;
        if (pick < 25) {
            path = &t.state[i], file = "state", kind = kBadState;
        } else if (pick < 50) {
            path = &t.online[i], file = "online", kind = kBadOnline;
        } else if (pick < 70) {
            path = &t.valid_zones[i], file = "valid_zones", kind = kBadValidZones;
        } else if (pick < 80) {
            path = &t.has_memory, file = "node/has_memory", kind = kBadHasMemory, block = -1;
        } else if (pick < 90) {
            path = &t.has_normal, file = "node/has_normal_memory", kind = kBadHasNormal, block = -1;
        } else {
            node_index = rng.below(t.nodes.size());
            node = t.nodes[node_index];
            path = &t.meminfo[node_index], file = t.meminfo_names[node_index].c_str();
            kind = kBadMeminfo;
            block = -1;
        }
        const bool block_file = kind == kBadState || kind == kBadOnline || kind == kBadValidZones;
        uint64_t state0 = 0, online0 = 0, state1 = 0, online1 = 0, began = 0;
        if (block_file) {
            state0 = seqs[i].state.load();
            online0 = seqs[i].online.load();
            began = now_ns();
        }
        const ReadOut r = read_once(*path, buf.data(), buf.size());
        if (block_file) {
            state1 = seqs[i].state.load();
            online1 = seqs[i].online.load();
        }
        ++slot.reads;
        const bool watched = block_file && t.watched(i);
        if (watched) ++slot.watched_reads;
        const std::string_view fname = file;
        if (watched && t.may_vanish[i] && r.err == ENOENT &&
            (std::strcmp(r.step, "open") == 0 || std::strcmp(r.step, "read") == 0)) {
            // The block is not there (now): unplugged memory, as the kernel would answer.
            ++(r.step[0] == 'o' ? slot.vanished_open : slot.vanished_read);
        } else if (r.err) {
            char d2[128];
            std::snprintf(d2, sizeof d2, "%s: %s failed %s", detail, r.step,
                          errno_name(r.err).c_str());
            record(slot, kReadIo, block, fname, r.data, d2);
        } else {
            bool good = false;
            switch (kind) {
                case kBadState:
                    good = state_ok(r.data);
                    break;
                case kBadOnline:
                    good = online_ok(r.data);
                    break;
                case kBadValidZones:
                    good = valid_zones_ok(r.data);
                    break;
                case kBadHasMemory:
                case kBadHasNormal:
                    good = node_list_ok(r.data);
                    break;
                default:
                    good = meminfo_ok(r.data, node, t.keys[node_index]);
                    break;
            }
            if (good && watched) ++slot.watched_ok;
            if (!good && !block_file) {
                record(slot, kind, block, fname, r.data, detail);
            } else if (!good && watched) {
                // Nothing of this tool stores to the block: others change it, unseen here.
                Kind k = kind;
                if (fast)
                    k = kind == kBadState    ? kAnomState
                        : kind == kBadOnline ? kAnomOnline
                                             : kAnomValidZones;
                ++slot.overlap[k][kOvExternal];
                char d2[200];
                std::snprintf(d2, sizeof d2,
                              "%s: a watched block%s, changed by others (D-Bus, udev, devices)",
                              detail, t.may_vanish[i] ? " that may vanish" : "");
                record(slot, k, block, fname, r.data, d2);
            } else if (!good) {
                const uint64_t n_state = stores_between(state0, state1);
                const uint64_t n_online = stores_between(online0, online1);
                // valid_zones is never stored to: only the sibling case applies to it.
                uint64_t same = 0;
                if (kind == kBadState) same = n_state;
                if (kind == kBadOnline) same = n_online;
                Overlap ov = kOvNone;
                if (same)
                    ov = kOvSameFile;
                else if (n_state + n_online)
                    ov = kOvSibling;
                Kind k = kind;
                if (fast)
                    k = kind == kBadState    ? kAnomState
                        : kind == kBadOnline ? kAnomOnline
                                             : kAnomValidZones;
                ++slot.overlap[k][ov];
                // The latest store to the block (and, when none overlapped, how long ago it
                // returned), from the block's BlockSeq.
                std::string latest = "no store to the block yet";
                if (state1 + online1 > 0) {
                    const Action& last = actions()[seqs[i].action.load() % actions().size()];
                    latest = std::string("writer ") +
                             std::to_string(i % static_cast<size_t>(writers)) +
                             "'s latest store started: " + (last.to_state ? "state" : "online") +
                             " <- \"" + escape(last.text) + "\"";
                    if (ov == kOvNone) {
                        char when[80];
                        std::snprintf(when, sizeof when, "; it returned %.1f us before this open()",
                                      static_cast<double>(began - seqs[i].ended_ns.load()) / 1e3);
                        latest += when;
                    }
                }
                char d2[400];
                std::snprintf(d2, sizeof d2,
                              "%s: %llu store(s) to state, %llu to online overlapped the read (%s)",
                              detail, static_cast<unsigned long long>(n_state),
                              static_cast<unsigned long long>(n_online), latest.c_str());
                record(slot, k, block, fname, r.data, d2, ov == kOvNone);
            }
        }
        slot.ops.fetch_add(1, std::memory_order_relaxed);
    }
}

// --- parent ------------------------------------------------------------------------------------
struct Child {
    pid_t pid = -1;
    bool writer = false;
    int index = 0;
    bool reaped = false;
    int status = 0;
};

bool build_tree(const Options& o, Tree& t) {
    t.memory = o.root + "/devices/system/memory";
    t.node = o.root + "/devices/system/node";
    t.first = o.first_block;
    t.nblocks = o.last_block - o.first_block + 1;
    for (int b = o.first_block; b <= o.last_block; ++b) {
        t.ids.push_back(b);
        t.may_vanish.push_back(0);
    }
    // The watched blocks, ascending; a block in both lists may vanish.
    std::map<int, uint8_t> watched;
    for (const auto& [a, b] : o.watch)
        for (int k = a; k <= b; ++k) watched.emplace(k, 0);
    for (const auto& [a, b] : o.may_vanish)
        for (int k = a; k <= b; ++k) watched[k] = 1;
    for (const auto& [b, vanish] : watched) {
        t.ids.push_back(b);
        t.may_vanish.push_back(vanish);
    }
    t.nall = static_cast<int>(t.ids.size());
    for (const int b : t.ids) {
        const std::string dir = t.memory + "/memory" + std::to_string(b);
        t.state.push_back(dir + "/state");
        t.online.push_back(dir + "/online");
        t.valid_zones.push_back(dir + "/valid_zones");
    }
    t.has_memory = t.node + "/has_memory";
    t.has_normal = t.node + "/has_normal_memory";
    std::vector<char> buf(4096);
    // Nodes: every id in node/possible (a node list) that has a meminfo.
    const ReadOut p = read_once(t.node + "/possible", buf.data(), buf.size());
    std::vector<int> candidates;
    if (p.err == 0 && node_list_ok(p.data)) {
        std::string_view s = p.data.substr(0, p.data.size() - 1);
        while (!s.empty()) {
            unsigned long a = 0, b = 0;
            parse_uint(s, a);
            b = a;
            if (!s.empty() && s[0] == '-') {
                s.remove_prefix(1);
                parse_uint(s, b);
            }
            for (unsigned long k = a; k <= b && k < 4096; ++k)
                candidates.push_back(static_cast<int>(k));
            if (!s.empty()) s.remove_prefix(1);
        }
    } else {
        candidates = {0};
    }
    for (int k : candidates) {
        const std::string path = t.node + "/node" + std::to_string(k) + "/meminfo";
        const ReadOut r = read_once(path, buf.data(), buf.size());
        if (r.err) continue;
        auto keys = meminfo_keys(r.data, k);
        if (keys.empty()) {
            std::fprintf(stderr, "hotplugfs-stress: %s is malformed at start: \"%s\"\n",
                         path.c_str(), escape(r.data.substr(0, 200)).c_str());
            return false;
        }
        t.nodes.push_back(k);
        t.meminfo.push_back(path);
        t.meminfo_names.push_back("node/node" + std::to_string(k) + "/meminfo");
        t.keys.push_back(std::move(keys));
    }
    if (t.nodes.empty()) {
        std::fprintf(stderr, "hotplugfs-stress: no readable %s/nodeK/meminfo\n", t.node.c_str());
        return false;
    }
    return true;
}

// Reads every block's state once (quiescent) into `out`; false with a message on trouble.
bool initial_states(const Tree& t, uint8_t* out) {
    std::vector<char> buf(4096);
    for (size_t i = 0; i < static_cast<size_t>(t.nblocks); ++i) {
        const ReadOut r = read_once(t.state[i], buf.data(), buf.size());
        if (r.err) {
            std::fprintf(stderr, "hotplugfs-stress: %s: %s failed: %s\n", t.state[i].c_str(),
                         r.step, std::strerror(r.err));
            return false;
        }
        if (r.data != "online\n" && r.data != "offline\n") {
            std::fprintf(stderr, "hotplugfs-stress: %s reads \"%s\" at start\n", t.state[i].c_str(),
                         escape(r.data).c_str());
            return false;
        }
        out[i] =
            static_cast<uint8_t>(r.data == "online\n" ? BlockState::Online : BlockState::Offline);
    }
    return true;
}

void final_check(const Options& o, const Tree& t, const uint8_t* expected, Slot& slot) {
    std::vector<char> buf(4096);
    for (size_t i = 0; i < static_cast<size_t>(t.nblocks); ++i) {
        slot.ops.fetch_add(1, std::memory_order_relaxed);  // progress, for the stall watchdog
        const int block = t.block(i);
        const ReadOut rs = read_once(t.state[i], buf.data(), buf.size());
        const std::string st(rs.data);
        if (rs.err) {
            record(slot, kReadIo, block, "state", rs.data,
                   std::string("final check: ") + rs.step + " failed " + errno_name(rs.err));
            continue;
        }
        const ReadOut ro = read_once(t.online[i], buf.data(), buf.size());
        if (ro.err) {
            record(slot, kReadIo, block, "online", ro.data,
                   std::string("final check: ") + ro.step + " failed " + errno_name(ro.err));
            continue;
        }
        const std::string on(ro.data);
        const BlockState exp = static_cast<BlockState>(expected[i]);
        const int owner = o.writers ? static_cast<int>(i % static_cast<size_t>(o.writers)) : -1;
        const std::string who =
            owner >= 0 ? "writer " + std::to_string(owner) + " expects " : "initially ";
        if (st != state_text(exp))
            record(slot, kFinalState, block, "state", st,
                   "final check: " + who + escape(state_text(exp)));
        const bool state_offline = st == "offline\n";
        if (!state_ok(st) || on != (state_offline ? "0\n" : "1\n"))
            record(slot, kFinalOnline, block, "online", on,
                   "final check: state reads \"" + escape(st) + "\"");
        // An online block shows its one zone (or "none"); an offline one its choices.
        const ReadOut rz = read_once(t.valid_zones[i], buf.data(), buf.size());
        if (rz.err) {
            record(slot, kReadIo, block, "valid_zones", rz.data,
                   std::string("final check: ") + rz.step + " failed " + errno_name(rz.err));
        } else if (!valid_zones_ok(rz.data) ||
                   (st == "online\n" && rz.data.find(' ') != std::string_view::npos)) {
            record(slot, kFinalMalformed, block, "valid_zones", rz.data,
                   "final check: state reads \"" + escape(st) + "\"");
        }
    }
    // The node masks and every node's meminfo.
    struct Whole {
        const std::string* path;
        std::string name;
        int node;  // -1: a node mask
        const std::vector<std::string>* keys;
    };
    std::vector<Whole> whole = {{&t.has_memory, "node/has_memory", -1, nullptr},
                                {&t.has_normal, "node/has_normal_memory", -1, nullptr}};
    for (size_t n = 0; n < t.nodes.size(); ++n)
        whole.push_back({&t.meminfo[n], t.meminfo_names[n], t.nodes[n], &t.keys[n]});
    for (const Whole& w : whole) {
        slot.ops.fetch_add(1, std::memory_order_relaxed);
        const ReadOut r = read_once(*w.path, buf.data(), buf.size());
        if (r.err) {
            record(slot, kReadIo, -1, w.name, r.data,
                   std::string("final check: ") + r.step + " failed " + errno_name(r.err));
        } else if (w.node < 0 ? !node_list_ok(r.data) : !meminfo_ok(r.data, w.node, *w.keys)) {
            record(slot, kFinalMalformed, -1, w.name, r.data, "final check");
        }
    }
}

// Forks a child that runs `body` and exits: it dies with the parent, keeps none of the parent's
// stdio (a child stuck in the kernel must not hold the caller's pipes open) and reports an
// exception as a `child` violation in `slot`. Returns the pid, or -1 when fork fails.
template <typename Body>
pid_t spawn(Slot& slot, Body body) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(3);
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
    int rc = 0;
    try {
        body();
        slot.finished = 1;
    } catch (const std::exception& e) {
        record(slot, kChild, -1, "-", "", std::string("exception: ") + e.what());
        rc = 3;
    } catch (...) {
        record(slot, kChild, -1, "-", "", "unknown exception");
        rc = 3;
    }
    _exit(rc);
}

// Waits for every child. When the children's progress counter stands still for
// --stall-timeout, or --timeout passes (counted from `start`), they are all SIGKILLed; a child
// that still has not ended 10 s later (stuck in an uninterruptible FUSE request) is given up on.
// Returns true when every child ended without being killed.
template <typename Progress>
bool wait_all(std::vector<Child>& children, Progress progress, const Options& o, uint64_t start,
              Slot& parent_slot) {
    uint64_t last = progress();
    uint64_t last_change = now_ns();
    bool killed = false;
    uint64_t killed_at = 0;
    for (;;) {
        size_t alive = 0;
        for (auto& ch : children) {
            if (ch.pid <= 0 || ch.reaped) continue;
            int status = 0;
            const pid_t r = waitpid(ch.pid, &status, WNOHANG);
            if (r == ch.pid || (r < 0 && errno == ECHILD)) {
                ch.reaped = true;
                ch.status = r == ch.pid ? status : -1;
            } else {
                ++alive;
            }
        }
        if (alive == 0) return !killed;
        const uint64_t now = now_ns();
        if (const uint64_t p = progress(); p != last) {
            last = p;
            last_change = now;
        }
        const bool stalled = static_cast<double>(now - last_change) / 1e9 > o.stall_timeout;
        const bool overtime = o.timeout > 0 && static_cast<double>(now - start) / 1e9 > o.timeout;
        if (!killed && (stalled || overtime)) {
            char why_buf[64];
            if (stalled)
                std::snprintf(why_buf, sizeof why_buf, "no progress for %g s", o.stall_timeout);
            else
                std::snprintf(why_buf, sizeof why_buf, "timeout of %g s", o.timeout);
            const std::string why = why_buf;
            std::fprintf(stderr, "hotplugfs-stress: %s; killing %zu children\n", why.c_str(),
                         alive);
            record(parent_slot, kChild, -1, "-", "", why + ": children killed");
            for (auto& ch : children)
                if (ch.pid > 0 && !ch.reaped) kill(ch.pid, SIGKILL);
            killed = true;
            killed_at = now;
        }
        if (killed && static_cast<double>(now - killed_at) / 1e9 > 10.0) {
            for (auto& ch : children)
                if (ch.pid > 0 && !ch.reaped)
                    record(parent_slot, kChild, -1, "-", "",
                           "pid " + std::to_string(ch.pid) +
                               " did not die 10 s after SIGKILL (stuck in a FUSE request?)");
            return false;
        }
        sleep_ms(20);
    }
}

void report_exit(const Child& ch, const Slot& slot, const std::string& name, Slot& parent_slot) {
    if (ch.pid <= 0 || !ch.reaped) return;
    const std::string who = name + " (pid " + std::to_string(ch.pid) + ")";
    if (ch.status == -1)
        record(parent_slot, kChild, -1, "-", "", who + ": lost");
    else if (WIFSIGNALED(ch.status))
        record(parent_slot, kChild, -1, "-", "",
               who + ": killed by signal " + std::to_string(WTERMSIG(ch.status)));
    else if (WEXITSTATUS(ch.status) != 0 || !slot.finished)
        record(parent_slot, kChild, -1, "-", "",
               who + ": exit status " + std::to_string(WEXITSTATUS(ch.status)));
}

// The memory shared with the children: the expected state per owned block, a BlockSeq per
// block read (owned and watched), then one Slot per child, one for the parent's own findings and
// one for the final check.
struct Shared {
    void* mem = MAP_FAILED;
    size_t total = 0;
    uint8_t* expected = nullptr;
    BlockSeq* seqs = nullptr;
    Slot* slots = nullptr;

    Shared() = default;
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;
    ~Shared() {
        if (mem != MAP_FAILED) munmap(mem, total);
    }
    bool map(size_t nblocks, size_t nall, size_t nslots) {
        auto align_up = [](size_t n, size_t a) { return (n + a - 1) / a * a; };
        const size_t seq_off = align_up(nblocks, alignof(BlockSeq));
        const size_t slot_off = align_up(seq_off + sizeof(BlockSeq) * nall, alignof(Slot));
        total = slot_off + sizeof(Slot) * nslots;
        mem = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) return false;
        expected = static_cast<uint8_t*>(mem);
        seqs = reinterpret_cast<BlockSeq*>(static_cast<char*>(mem) + seq_off);
        for (size_t b = 0; b < nall; ++b) new (&seqs[b]) BlockSeq();
        slots = reinterpret_cast<Slot*>(static_cast<char*>(mem) + slot_off);
        for (size_t c = 0; c < nslots; ++c) new (&slots[c]) Slot();
        return true;
    }
};

// The watched blocks as ranges, "*" after the ones that may vanish.
std::string describe_watched(const Tree& t) {
    const size_t nblocks = static_cast<size_t>(t.nblocks), nall = static_cast<size_t>(t.nall);
    std::string desc;
    for (size_t i = nblocks; i < nall;) {
        size_t j = i;
        while (j + 1 < nall && t.ids[j + 1] == t.ids[j] + 1 &&
               t.may_vanish[j + 1] == t.may_vanish[i])
            ++j;
        if (!desc.empty()) desc += ",";
        desc += std::to_string(t.ids[i]);
        if (j > i) desc += "-" + std::to_string(t.ids[j]);
        if (t.may_vanish[i]) desc += "*";
        i = j + 1;
    }
    return desc;
}

// Forks the writers and readers (every child gets ops / n, the first ops % n one more) and
// waits for them. False when a fork failed or a child did not end well.
bool run_children(const Options& o, const Tree& t, Shared& sh, uint64_t seed, size_t nchildren,
                  Slot& parent_slot) {
    std::vector<Child> children(nchildren);
    const uint64_t t0 = now_ns();
    bool fork_failed = false;
    for (size_t c = 0; c < nchildren && !fork_failed; ++c) {
        Child& ch = children[c];
        ch.writer = c < static_cast<size_t>(o.writers);
        ch.index = ch.writer ? static_cast<int>(c) : static_cast<int>(c) - o.writers;
        const uint64_t my_ops = o.ops / nchildren + (c < o.ops % nchildren ? 1 : 0);
        const uint64_t my_seed = mix64(seed + 0x1000 * (c + 1));
        ch.pid = spawn(sh.slots[c], [&, c] {
            if (ch.writer)
                run_writer(ch.index, o.writers, my_ops, my_seed, t, sh.slots[c], sh.expected,
                           sh.seqs);
            else
                run_reader(ch.index, my_ops, my_seed, t, sh.slots[c], sh.seqs, o.writers, o.fast);
        });
        if (ch.pid < 0) {
            record(parent_slot, kChild, -1, "-", "", std::string("fork: ") + std::strerror(errno));
            fork_failed = true;
        }
    }
    auto progress = [&] {
        uint64_t n = 0;
        for (size_t c = 0; c < nchildren; ++c) n += sh.slots[c].ops.load();
        return n;
    };
    const bool workers_ok = wait_all(children, progress, o, t0, parent_slot);
    for (size_t c = 0; c < nchildren; ++c) {
        const Child& ch = children[c];
        report_exit(ch, sh.slots[c],
                    std::string(ch.writer ? "writer " : "reader ") + std::to_string(ch.index),
                    parent_slot);
    }
    return workers_ok && !fork_failed;
}

// The quiescent check, in a child too, so a hung mount cannot hang this process.
void run_final_check(const Options& o, const Tree& t, Shared& sh, Slot& check_slot,
                     Slot& parent_slot) {
    std::vector<Child> checker(1);
    checker[0].pid = spawn(check_slot, [&] { final_check(o, t, sh.expected, check_slot); });
    if (checker[0].pid < 0) {
        record(parent_slot, kChild, -1, "-", "", std::string("fork: ") + std::strerror(errno));
        return;
    }
    wait_all(
        checker, [&] { return check_slot.ops.load(); }, o, now_ns(), parent_slot);
    report_exit(checker[0], check_slot, "final check", parent_slot);
}

// Everything the slots recorded, added up.
struct Totals {
    uint64_t ops = 0, wops = 0, rops = 0, ok = 0, refused = 0, changes = 0, reads = 0;
    uint64_t watched_reads = 0, watched_ok = 0, vanished_open = 0, vanished_read = 0;
    uint64_t counts[kKinds] = {};
    uint64_t overlap[kKinds][kOverlaps] = {};
    std::vector<std::vector<const Example*>> ex = std::vector<std::vector<const Example*>>(kKinds);
    std::vector<std::vector<const Example*>> lone =
        std::vector<std::vector<const Example*>>(kKinds);
};

Totals add_up(const Options& o, const Slot* slots, size_t nchildren) {
    Totals t;
    for (size_t c = 0; c < nchildren + 2; ++c) {
        const Slot& s = slots[c];
        const uint64_t n = c < nchildren ? s.ops.load() : 0;
        t.ops += n;
        if (c < static_cast<size_t>(o.writers))
            t.wops += n;
        else if (c < nchildren)
            t.rops += n;
        t.ok += s.writes_ok;
        t.refused += s.writes_refused;
        t.changes += s.changes;
        t.reads += s.reads;
        t.watched_reads += s.watched_reads;
        t.watched_ok += s.watched_ok;
        t.vanished_open += s.vanished_open;
        t.vanished_read += s.vanished_read;
        for (int k = 0; k < kKinds; ++k) {
            t.counts[k] += s.counts[k];
            for (int v = 0; v < kOverlaps; ++v) t.overlap[k][v] += s.overlap[k][v];
            for (uint32_t e = 0; e < s.nexamples[k]; ++e) t.ex[k].push_back(&s.examples[k][e]);
            for (uint32_t e = 0; e < s.nlone[k]; ++e) t.lone[k].push_back(&s.lone[k][e]);
        }
    }
    return t;
}

// The earliest examples of one list, `indent` deep (times relative to `t0`).
void print_examples(int k, std::vector<const Example*>& v, const char* indent, uint64_t t0) {
    std::sort(v.begin(), v.end(),
              [](const Example* a, const Example* b) { return a->t_ns < b->t_ns; });
    for (size_t e = 0; e < v.size() && e < static_cast<size_t>(kMaxExamples); ++e) {
        const Example& x = *v[e];
        const double at = x.t_ns >= t0 ? static_cast<double>(x.t_ns - t0) / 1e9 : 0.0;
        if (k == kChild) {
            std::printf("%s[%.3f s] %s\n", indent, at, x.detail);
            continue;
        }
        std::string where = x.block >= 0 ? "block " + std::to_string(x.block) : "-";
        std::printf("%s[%.3f s] %s %s \"%s\"%s  (%s)\n", indent, at, where.c_str(), x.file,
                    escape(std::string_view(x.bytes, x.len)).c_str(), x.truncated ? "..." : "",
                    x.detail);
    }
}

// Every distinct byte string one kind saw, most frequent first.
void print_contents(int k, const Slot* slots, size_t nslots) {
    std::vector<Distinct> all;
    uint64_t other = 0;
    for (size_t c = 0; c < nslots; ++c) {
        const Slot& s = slots[c];
        other += s.other[k];
        for (uint32_t d = 0; d < s.ndistinct[k]; ++d) {
            const Distinct& x = s.distinct[k][d];
            auto it = std::find_if(all.begin(), all.end(), [&](const Distinct& y) {
                return y.len == x.len && std::memcmp(y.bytes, x.bytes, x.len) == 0 &&
                       std::strcmp(y.file, x.file) == 0;
            });
            if (it == all.end())
                all.push_back(x);
            else
                it->count += x.count;
        }
    }
    std::sort(all.begin(), all.end(),
              [](const Distinct& a, const Distinct& b) { return a.count > b.count; });
    std::printf("    by content:");
    for (const Distinct& x : all)
        std::printf(" %s=\"%s\" x%llu;", x.file, escape(std::string_view(x.bytes, x.len)).c_str(),
                    static_cast<unsigned long long>(x.count));
    if (other) std::printf(" other x%llu;", static_cast<unsigned long long>(other));
    std::printf("\n");
}

// One kind: its count, the earliest examples, the reader overlap breakdown, the contents.
void print_kind(int k, Totals& t, const Slot* slots, size_t nslots, uint64_t t0) {
    std::printf("  %s: %llu\n", kKindNames[k], static_cast<unsigned long long>(t.counts[k]));
    print_examples(k, t.ex[k], "    ", t0);
    if (k == kChild) return;
    uint64_t classified = 0;
    for (int ov = 0; ov < kOverlaps; ++ov) classified += t.overlap[k][ov];
    if (classified) {
        std::printf("    by overlap:");
        for (int ov = 0; ov < kOverlaps; ++ov)
            if (ov != kOvExternal || t.overlap[k][ov])
                std::printf(" %s x%llu;", kOverlapNames[ov],
                            static_cast<unsigned long long>(t.overlap[k][ov]));
        std::printf("\n");
    }
    if (t.overlap[k][kOvNone]) {
        std::printf("    %s, earliest:\n", kOverlapNames[kOvNone]);
        print_examples(k, t.lone[k], "      ", t0);
    }
    print_contents(k, slots, nslots);
}

// The summary; returns the violation count.
uint64_t print_summary(const Options& o, const Tree& tree, Totals& t, const Slot* slots,
                       size_t nslots, uint64_t t0, uint64_t t1) {
    const size_t nblocks = static_cast<size_t>(tree.nblocks), nall = static_cast<size_t>(tree.nall);
    const double secs = static_cast<double>(t1 - t0) / 1e9;
    std::printf("mode: %s\n", o.fast ? "fast (a reader's malformed state/online/valid_zones is an "
                                       "anomaly, not a violation)"
                                     : "strict (every malformed read is a violation)");
    std::printf("ops: %llu of %llu done in %.3f s: %.0f ops/s\n",
                static_cast<unsigned long long>(t.ops), static_cast<unsigned long long>(o.ops),
                secs, secs > 0 ? static_cast<double>(t.ops) / secs : 0.0);
    std::printf(
        "  writer ops %llu (%llu stores accepted, %llu refused as predicted, %llu state "
        "changes); reader ops %llu; attribute reads %llu\n",
        static_cast<unsigned long long>(t.wops), static_cast<unsigned long long>(t.ok),
        static_cast<unsigned long long>(t.refused), static_cast<unsigned long long>(t.changes),
        static_cast<unsigned long long>(t.rops), static_cast<unsigned long long>(t.reads));
    if (nall > nblocks)
        std::printf(
            "watched: %llu reads of %zu blocks the writers do not own (%s): %llu well formed, "
            "%llu vanished (ENOENT: %llu at open, %llu at read)\n",
            static_cast<unsigned long long>(t.watched_reads), nall - nblocks,
            describe_watched(tree).c_str(), static_cast<unsigned long long>(t.watched_ok),
            static_cast<unsigned long long>(t.vanished_open + t.vanished_read),
            static_cast<unsigned long long>(t.vanished_open),
            static_cast<unsigned long long>(t.vanished_read));
    uint64_t violations = 0, anomalies = 0;
    for (int k = 0; k < kKinds; ++k) (is_anomaly(k) ? anomalies : violations) += t.counts[k];
    std::printf("violations: %llu\n", static_cast<unsigned long long>(violations));
    for (int k = 0; k < kKinds; ++k)
        if (t.counts[k] && !is_anomaly(k)) print_kind(k, t, slots, nslots, t0);
    if (o.fast) {
        std::printf(
            "concurrent-write anomalies (fast mode: a reader overlapping a write of the same "
            "file): %llu\n",
            static_cast<unsigned long long>(anomalies));
        for (int k = 0; k < kKinds; ++k)
            if (t.counts[k] && is_anomaly(k)) print_kind(k, t, slots, nslots, t0);
    }
    std::fflush(stdout);
    return violations;
}

int run(const Options& o) {
    Tree t;
    if (!build_tree(o, t)) return 2;
    const size_t nchildren = static_cast<size_t>(o.writers + o.readers);
    const size_t nslots = nchildren + 2;
    Shared sh;
    if (!sh.map(static_cast<size_t>(t.nblocks), static_cast<size_t>(t.nall), nslots)) {
        std::perror("hotplugfs-stress: mmap");
        return 2;
    }
    Slot& parent_slot = sh.slots[nchildren];
    Slot& check_slot = sh.slots[nchildren + 1];
    if (!initial_states(t, sh.expected)) return 2;

    const uint64_t seed = o.seed_set ? o.seed : mix64(now_ns() ^ static_cast<uint64_t>(getpid()));
    std::printf(
        "hotplugfs-stress: root %s, blocks %d-%d, %d writers, %d readers, %llu ops, "
        "seed %llu, mode %s\n",
        o.root.c_str(), o.first_block, o.last_block, o.writers, o.readers,
        static_cast<unsigned long long>(o.ops), static_cast<unsigned long long>(seed),
        o.fast ? "fast" : "strict");
    if (t.nall > t.nblocks)
        std::printf("hotplugfs-stress: readers also watch blocks %s (* may vanish)\n",
                    describe_watched(t).c_str());
    std::fflush(stdout);
    std::fflush(stderr);

    const uint64_t t0 = now_ns();
    const bool children_ok = run_children(o, t, sh, seed, nchildren, parent_slot);
    const uint64_t t1 = now_ns();
    if (children_ok)
        run_final_check(o, t, sh, check_slot, parent_slot);
    else
        record(parent_slot, kChild, -1, "-", "", "final check skipped: not every child ended");
    uint64_t done = 0;
    for (size_t c = 0; c < nchildren; ++c) done += sh.slots[c].ops.load();
    if (done != o.ops)
        record(parent_slot, kChild, -1, "-", "",
               "only " + std::to_string(done) + " of " + std::to_string(o.ops) + " ops done");

    Totals totals = add_up(o, sh.slots, nchildren);
    return print_summary(o, t, totals, sh.slots, nslots, t0, t1) ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_options(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotplugfs-stress: %s\n", e.what());
        return 2;
    }
}
