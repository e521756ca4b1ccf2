// The quiescent check (final_check.h).
#include "final_check.h"

#include <string>
#include <string_view>
#include <vector>

#include "attr_io.h"
#include "stores.h"
#include "text.h"
#include "well_formed.h"

namespace stress {
namespace {

void record_read_failure(Slot& slot, int block, std::string_view file, const ReadOut& r) {
    record(slot, kReadIo, block, file, r.data,
           std::string("final check: ") + r.step + " failed " + errno_name(r.err));
}

// Block index `i`: state as its owner expects, online agreeing, valid_zones well formed.
void check_block(const Options& o, const Tree& t, size_t i, BlockState exp, Slot& slot,
                 std::vector<char>& buf) {
    const int block = t.block(i);
    const ReadOut rs = read_once(t.state[i], buf.data(), buf.size());
    const std::string st(rs.data);
    if (rs.err) {
        record_read_failure(slot, block, "state", rs);
        return;
    }
    const ReadOut ro = read_once(t.online[i], buf.data(), buf.size());
    if (ro.err) {
        record_read_failure(slot, block, "online", ro);
        return;
    }
    const std::string on(ro.data);
    const int owner = o.writers ? static_cast<int>(i % static_cast<size_t>(o.writers)) : -1;
    const std::string who = owner >= 0
                                ? std::string("writer ") + std::to_string(owner) + " expects "
                                : std::string("initially ");
    if (st != state_text(exp))
        record(slot, kFinalState, block, "state", st,
               std::string("final check: ") + who + escape(state_text(exp)));
    const bool state_offline = st == "offline\n";
    if (!state_ok(st) || on != (state_offline ? "0\n" : "1\n"))
        record(slot, kFinalOnline, block, "online", on,
               std::string("final check: state reads \"") + escape(st) + "\"");
    // An online block shows its one zone (or "none"); an offline one its choices.
    const ReadOut rz = read_once(t.valid_zones[i], buf.data(), buf.size());
    if (rz.err) {
        record_read_failure(slot, block, "valid_zones", rz);
    } else if (!valid_zones_ok(rz.data) ||
               (st == "online\n" && rz.data.find(' ') != std::string_view::npos)) {
        record(slot, kFinalMalformed, block, "valid_zones", rz.data,
               std::string("final check: state reads \"") + escape(st) + "\"");
    }
}

// The node masks and every node's meminfo.
void check_node_files(const Tree& t, Slot& slot, std::vector<char>& buf) {
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
        if (r.err)
            record_read_failure(slot, -1, w.name, r);
        else if (w.node < 0 ? !node_list_ok(r.data) : !meminfo_ok(r.data, w.node, *w.keys))
            record(slot, kFinalMalformed, -1, w.name, r.data, "final check");
    }
}

}  // namespace

void final_check(const Options& o, const Tree& t, const uint8_t* expected, Slot& slot) {
    std::vector<char> buf(4096);
    for (size_t i = 0; i < static_cast<size_t>(t.nblocks); ++i) {
        slot.ops.fetch_add(1, std::memory_order_relaxed);  // progress, for the stall watchdog
        check_block(o, t, i, static_cast<BlockState>(expected[i]), slot, buf);
    }
    check_node_files(t, slot, buf);
}

}  // namespace stress
