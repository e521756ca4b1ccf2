// Parsing and checking the command line (options.h).
#include "options.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace stress {
namespace {

[[noreturn]] void usage(const char* msg) {
    if (msg) std::fprintf(stderr, "hotplugfs-stress: %s\n", msg);
    std::fprintf(
        stderr,
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

[[noreturn]] void usage(const std::string& msg) {
    usage(msg.c_str());
}

[[noreturn]] void bad_value(const char* opt, const char* text) {
    usage(std::string("bad value for ") + opt + ": " + text);
}

template <typename T>
T parse_number(const char* opt, const char* text) {
    T v{};
    const std::string_view s(text);
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) bad_value(opt, text);
    return v;
}

// A block number: decimal digits only, the whole of `t`.
bool parse_block(std::string_view t, int& v) {
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return ec == std::errc() && p == t.data() + t.size() && !t.empty() && v >= 0;
}

// "B", "B-E" or a comma list of them, appended to `out` as inclusive ranges.
void parse_ranges(const char* opt, const char* text, std::vector<std::pair<int, int>>& out) {
    std::string_view s(text);
    for (;;) {
        const size_t comma = s.find(',');
        const std::string_view item = s.substr(0, comma);
        const size_t dash = item.find('-');
        int a = 0, b = 0;
        if (!parse_block(item.substr(0, dash), a)) bad_value(opt, text);
        b = a;
        if (dash != std::string_view::npos && !parse_block(item.substr(dash + 1), b))
            bad_value(opt, text);
        if (b < a || b - a >= (1 << 20)) bad_value(opt, text);  // at most 2^20 blocks a range
        out.emplace_back(a, b);
        if (comma == std::string_view::npos) return;
        s.remove_prefix(comma + 1);
    }
}

double parse_seconds(const char* opt, const char* text) {
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (!end || *end || v < 0) bad_value(opt, text);
    return v;
}

bool parse_fast_mode(const char* text) {
    const std::string_view m(text);
    if (m == "fast") return true;
    if (m == "strict" || m == "exact") return false;
    usage(std::string("bad value for --mode: ") + std::string(m) + " (strict, exact or fast)");
}

// Option `a` with its value `v`; `have_ops` is set by --ops.
void apply_option(Options& o, std::string_view a, const char* v, bool& have_ops) {
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
        o.fast = parse_fast_mode(v);
    } else if (a == "--watch") {
        parse_ranges("--watch", v, o.watch);
    } else if (a == "--may-vanish") {
        parse_ranges("--may-vanish", v, o.may_vanish);
    } else {
        usage(std::string("unknown option ") + std::string(a));
    }
}

// The options together: what is required, what the process and block counts allow.
void check_options(const Options& o, bool have_ops) {
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
                usage(std::string("watched blocks ") + std::to_string(a) + "-" + std::to_string(b) +
                      " overlap the writers' blocks " + std::to_string(o.first_block) + "-" +
                      std::to_string(o.last_block));
}

}  // namespace

Options parse_options(int argc, char** argv) {
    Options o;
    bool have_ops = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a(argv[i]);
        if (a == "-h" || a == "--help") usage(nullptr);
        if (i + 1 >= argc) usage(std::string("missing value for ") + std::string(a));
        apply_option(o, a, argv[++i], have_ops);
    }
    check_options(o, have_ops);
    if (o.stall_timeout <= 0) o.stall_timeout = 60.0;
    return o;
}

}  // namespace stress
