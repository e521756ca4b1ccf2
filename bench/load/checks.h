// The four load checks. Each starts its own daemon(s) under `dir` and returns its verdict.
#pragma once

#include <string>

#include "options.h"
#include "verdict.h"

namespace load {

Verdict check_lookups(const Options& o, const std::string& dir);
Verdict check_dbus_calls(const Options& o, const std::string& dir);
Verdict check_slow_subscriber(const Options& o, const std::string& dir);
Verdict check_kill_churn(const Options& o, const std::string& dir);

}  // namespace load
