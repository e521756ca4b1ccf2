#include "events/event_log.h"

#include <time.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "sandbox/safe_open.h"

namespace hotplugfs {
namespace {

using Json = nlohmann::ordered_json;

std::string utc_time(int64_t realtime_ns) {
    const time_t seconds = static_cast<time_t>(realtime_ns / 1000000000);
    tm t{};
    gmtime_r(&seconds, &t);
    char buf[64];
    const size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
    snprintf(buf + n, sizeof buf - n, ".%06ldZ",
             static_cast<long>(realtime_ns % 1000000000 / 1000));
    return buf;
}

Json head(const char* source, const hotplug::Uevent& e, int64_t realtime_ns, int64_t mono_us,
          const std::vector<std::pair<std::string, std::string>>& properties) {
    Json env = Json::object();
    for (const auto& [key, value] : properties) env[key] = value;
    return {{"source", source},          {"seqnum", e.seqnum}, {"time", utc_time(realtime_ns)},
            {"monotonic_usec", mono_us}, {"action", e.action}, {"devpath", e.devpath},
            {"subsystem", e.subsystem},  {"env", env}};
}

// Synthetic uevent arguments are whatever a writer sent, not necessarily UTF-8.
std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string errno_name(int error) {
    if (error == 0) return "";
    const char* name = strerrorname_np(error);
    return name ? name : std::to_string(error);
}

}  // namespace

EventLog::EventLog(const std::string& path) {
    sandbox::OpenedFile opened = sandbox::open_own_file(path, sandbox::OpenFor::Appending);
    if (!opened.fd) throw std::runtime_error(path + ": " + opened.error);
    file_.reset(::fdopen(opened.fd.get(), "a"));
    if (!file_) throw std::runtime_error(path + ": " + std::strerror(errno));
    opened.fd.release();  // the FILE owns it now
}

void EventLog::write_line(const std::string& line) {
    std::lock_guard lock(mu_);
    std::fputs(line.c_str(), file_.get());
    std::fputc('\n', file_.get());
    std::fflush(file_.get());
}

void EventLog::append_kernel(const std::vector<hotplug::Uevent>& events, int64_t realtime_ns,
                             int64_t mono_us) {
    for (const auto& e : events)
        write_line(dump(head("kernel", e, realtime_ns, mono_us, e.properties())));
}

void EventLog::append_udev(const ProcessedEvent& p) {
    Json line = head("udev", p.uevent, p.realtime_ns, p.monotonic_us, p.properties);
    Json rules = Json::array();
    for (const auto& m : p.matched)
        rules.push_back({{"file", m.file}, {"line", m.line}, {"text", m.text}});
    Json writes = Json::array();
    for (const auto& w : p.attr_writes)
        writes.push_back({{"file", w.file},
                          {"line", w.line},
                          {"attr", w.attr},
                          {"value", w.value},
                          {"error", errno_name(w.error)}});
    Json runs = Json::array();
    for (const auto& r : p.runs)
        runs.push_back({{"command", r.command},
                        {"exit_code", r.exit_status},
                        {"signal", r.signal},
                        {"timed_out", r.timed_out},
                        {"spawn_error", errno_name(r.spawn_errno)},
                        {"stdout", r.out},
                        {"stderr", r.err}});
    line["rules"] = std::move(rules);
    line["attr_writes"] = std::move(writes);
    line["run"] = std::move(runs);
    line["log"] = p.log;
    write_line(dump(line));
}

}  // namespace hotplugfs
