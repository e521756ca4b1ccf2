// The one clock every process of hotplugfs-stress reads: CLOCK_MONOTONIC, shared across fork(),
// so the parent can order the examples its children recorded.
#pragma once

#include <time.h>

#include <cstdint>

namespace stress {

inline uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline void sleep_ms(long ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, nullptr);
}

}  // namespace stress
