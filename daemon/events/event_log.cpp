#include "events/event_log.h"

#include <time.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace hotplugfs {
namespace {

std::string utc_now() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    char buf[64];
    const size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
    snprintf(buf + n, sizeof buf - n, ".%06ldZ", ts.tv_nsec / 1000);
    return buf;
}

}  // namespace

EventLog::EventLog(const std::string& path) : file_(std::fopen(path.c_str(), "a")) {
    if (!file_) throw std::runtime_error(path + ": " + std::strerror(errno));
}

void EventLog::append(const std::vector<hotplug::Uevent>& events) {
    const std::string now = utc_now();
    std::lock_guard lock(mu_);
    for (const auto& e : events) {
        nlohmann::ordered_json env = nlohmann::ordered_json::object();
        for (const auto& [key, value] : e.properties()) env[key] = value;
        const nlohmann::ordered_json line = {{"seqnum", e.seqnum},   {"time", now},
                                             {"action", e.action},   {"devpath", e.devpath},
                                             {"subsystem", e.subsystem}, {"env", env}};
        std::fputs((line.dump() + "\n").c_str(), file_.get());
    }
    std::fflush(file_.get());
}

}  // namespace hotplugfs
