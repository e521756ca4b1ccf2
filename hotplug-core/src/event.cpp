#include "hotplug/event.h"

namespace hotplug {

std::vector<std::pair<std::string, std::string>> Uevent::properties() const {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(4 + synth.size());
    out.emplace_back("ACTION", action);
    out.emplace_back("DEVPATH", devpath);
    out.emplace_back("SUBSYSTEM", subsystem);
    for (const auto& kv : synth) out.push_back(kv);
    out.emplace_back("SEQNUM", std::to_string(seqnum));
    return out;
}

}  // namespace hotplug
