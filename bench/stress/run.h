// One run of hotplugfs-stress from parsed options to exit status: the order of its phases
// (tree, shared memory, children, final check, summary) and nothing else.
#pragma once

#include "options.h"

namespace stress {

// 0: no violation; 1: violations (printed); 2: the run could not start (message on stderr).
int run(const Options& o);

}  // namespace stress
