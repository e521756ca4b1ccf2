// What a state file must be beyond well-typed JSON: the configuration's rules for the values
// both files hold, and the rules of a machine at rest. Whether the state fits the configured
// machine is Machine::restore's to say, afterwards.
#pragma once

#include <cstdint>

#include "hotplug/snapshot.h"

namespace hotplugfs::persist {

// The largest SEQNUM or page count a state file holds. Each operation adds a handful, so a
// counter that starts below 2^63 cannot wrap around within any machine's lifetime, and every
// reader of signed 64-bit integers takes it as it is.
inline constexpr uint64_t kMaxCounter = (uint64_t{1} << 63) - 1;

// Throws config::detail::Invalid, at the JSON Pointer of the value, for the first rule `state`
// breaks, in file order:
//   /block_size  a power of two and a multiple of the section size, as in a configuration;
//   /seqnum, /faults/soft_offlined  at most kMaxCounter;
//   /blocks/i/state  offline or online: going-offline passes, and a file never keeps it;
//   /blocks/i/zone  a zone the architecture has at the blocks' addresses (hotplug::zone_fit),
//                   and "none" (several zones) only for boot memory.
void check_state_rules(const hotplug::MachineSnapshot& state);

// `snapshot` as a file keeps it: an offline still migrating has not completed, so its blocks
// are online, as they come back after a restart.
hotplug::MachineSnapshot at_rest(hotplug::MachineSnapshot snapshot);

}  // namespace hotplugfs::persist
