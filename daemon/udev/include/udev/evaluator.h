// Internal: evaluating tokens against an event.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "udev/event_state.h"

namespace hotplugfs::udev {

// One match token on device `dev` (the event's devpath or, for parent keys, an ancestor).
bool match_token(EventState& st, const Token& t, const std::string& dev);
// The run of parent tokens starting at tokens[first], all on the same device (walking upwards).
bool match_parents(EventState& st, const std::vector<Token>& tokens, std::size_t first);
// One assignment token.
void apply_assignment(EventState& st, const Token& t);

}  // namespace hotplugfs::udev
