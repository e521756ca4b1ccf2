#include "events/event_log.h"

#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
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

EventLog::EventLog(const std::string& path) : path_(path) {
    sandbox::OpenedFile opened = sandbox::open_own_file(path, sandbox::OpenFor::Appending);
    if (!opened.fd) throw std::runtime_error(path + ": " + opened.error);
    fd_ = std::move(opened.fd);
}

std::string EventLog::state() const {
    std::lock_guard lock(mu_);
    return error_ ? std::string("failing: ") + std::strerror(error_) : std::string("ok");
}

int EventLog::append(const std::string& text) {
    ssize_t n;
    do n = ::write(fd_.get(), text.data(), text.size());
    while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(text.size())) return 0;
    if (n < 0) return errno;
    // Stopped short: the file system (or the quota, or RLIMIT_FSIZE) is full. Writing the rest
    // tells which; should it go through after all, the line is whole.
    const off_t start = ::lseek(fd_.get(), 0, SEEK_CUR) - n;  // O_APPEND: just past our bytes
    size_t done = static_cast<size_t>(n);
    int error = 0;
    while (done < text.size()) {
        n = ::write(fd_.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = n < 0 ? errno : EIO;
            break;
        }
        done += static_cast<size_t>(n);
    }
    if (!error) return 0;
    // Half a line would merge with the next into one that is not JSON: cut it off.
    if (start < 0 || ::ftruncate(fd_.get(), start) != 0)
        spdlog::error("event log {}: cannot cut off a partly written line: {}", path_,
                      std::strerror(errno));
    return error;
}

void EventLog::count_lost(uint64_t seqnum, int error) {
    if (lost_ == 0) {  // the first of a run: said once
        first_lost_ = last_lost_ = seqnum;
        spdlog::error("event log {}: {} ({}); events are counted, not written, until it can be "
                      "written again",
                      path_, std::strerror(error), errno_name(error));
        error_ = error;
    }
    ++lost_;
    first_lost_ = std::min(first_lost_, seqnum);  // udev lines come late, out of order
    last_lost_ = std::max(last_lost_, seqnum);
}

void EventLog::write_line(std::string line, uint64_t seqnum) {
    line += '\n';
    std::lock_guard lock(mu_);
    if (lost_ > 0) {
        // In the same write() as the line: the count never lands without a line after it, so
        // a nearly full disk cannot take the count and fail the line (and be logged again).
        const Json note = {{"source", "event-log"},
                           {"lost", lost_},
                           {"first_seqnum", first_lost_},
                           {"last_seqnum", last_lost_}};
        line.insert(0, dump(note) + '\n');
    }
    if (const int error = append(line); error != 0) return count_lost(seqnum, error);
    if (lost_ > 0)
        spdlog::info("event log {}: written again; {} lines (SEQNUM {} to {}) were lost", path_,
                     lost_, first_lost_, last_lost_);
    lost_ = 0;
    error_ = 0;
}

void EventLog::append_kernel(const std::vector<hotplug::Uevent>& events, int64_t realtime_ns,
                             int64_t mono_us) {
    for (const auto& e : events)
        write_line(dump(head("kernel", e, realtime_ns, mono_us, e.properties())), e.seqnum);
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
    write_line(dump(line), p.uevent.seqnum);
}

}  // namespace hotplugfs
