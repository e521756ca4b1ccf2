// A kernel uevent as the kernel emits it for memory blocks.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hotplug {

struct Uevent {
    std::string action;     // add, remove, online, offline, change, ...
    std::string devpath;    // /devices/system/memory/memory6
    std::string subsystem;  // memory
    uint64_t seqnum = 0;
    // Synthetic events: SYNTH_UUID and SYNTH_ARG_* in the order written.
    std::vector<std::pair<std::string, std::string>> synth;

    // KEY=VALUE pairs in the kernel's order: ACTION, DEVPATH, SUBSYSTEM, SYNTH_*, SEQNUM.
    std::vector<std::pair<std::string, std::string>> properties() const;
};

}  // namespace hotplug
