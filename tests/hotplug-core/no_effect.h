// check_no_effect: the common assertion of the device, fault and slow-offline tests.
#pragma once

#include "core_support.h"

namespace coretest {
// A refused operation: the expected errno with a message, no events, no changes, no pending
// offline, the seqnum and every block as they were.
inline void check_no_effect(Machine& m, const Outcome& o, int code,
                            const std::map<uint64_t, BlockView>& before, uint64_t seq) {
    CHECK(o.error.code == code);
    CHECK_FALSE(o.error.message.empty());
    CHECK(o.events.empty());
    CHECK(o.changes.empty());
    CHECK_FALSE(o.pending_offline_ms.has_value());
    CHECK(m.last_seqnum() == seq);
    CHECK(snapshot(m) == before);
}

}  // namespace coretest
