#include "events/event_pipeline.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include "sandbox/program_runner.h"

namespace hotplugfs {
namespace {

std::vector<std::string> environment_of(const udev::Properties& properties) {
    std::vector<std::string> env;
    env.reserve(properties.size() + 1);
    for (const auto& [key, value] : properties) env.push_back(key + "=" + value);
    // udevd's own environment: what a RUN program finds on PATH.
    env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    return env;
}

// Properties as libudev listeners get them: the device's, without the rules' private
// ".KEY" ones, with the time the device was initialized.
udev::Properties broadcast_properties(const udev::Properties& all, int64_t monotonic_us) {
    udev::Properties out;
    for (const auto& kv : all) {
        if (kv.first.empty() || kv.first[0] == '.') continue;
        out.push_back(kv);
        if (kv.first == "SEQNUM")
            out.emplace_back("USEC_INITIALIZED", std::to_string(monotonic_us));
    }
    return out;
}

}  // namespace

std::vector<std::string> split_udev_command(const std::string& command) {
    std::vector<std::string> argv;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (char c : command) {
        if (quote) {
            if (c == quote)
                quote = 0;
            else
                word += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) argv.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word) argv.push_back(std::move(word));
    if (!argv.empty() && argv[0].find('/') == std::string::npos)
        argv[0] = "/usr/lib/udev/" + argv[0];
    return argv;
}

EventPipeline::EventPipeline(LiveMachine& live, udev::RuleSet rules, Settings settings)
    : rules_(std::move(rules)),
      settings_(std::move(settings)),
      device_(
          live, settings_.run_timeout,
          [this](const auto& argv, const auto& env) { return run_program(argv, env); },
          settings_.platform),
      cancel_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

EventPipeline::~EventPipeline() {
    stop();
}

void EventPipeline::start() { events_.start(); }

void EventPipeline::stop() {
    events_.stop();
    const uint64_t one = 1;
    if (cancel_ && write(cancel_.get(), &one, sizeof one) != sizeof one)
        spdlog::warn("could not cancel the running RUN program");
    events_.join();
}

void EventPipeline::submit(const std::vector<hotplug::Uevent>& events, int64_t realtime_ns,
                           int64_t monotonic_us) {
    for (const auto& e : events) {
        ProcessedEvent p;
        p.uevent = e;
        p.realtime_ns = realtime_ns;
        p.monotonic_us = monotonic_us;
        if (!events_.push(std::move(p))) return;  // stopping
    }
}

void EventPipeline::deliver(ProcessedEvent& event) {
    const ProcessedEvent done = process(std::move(event));
    for (EventSink* sink : sinks_) sink->on_processed(done);
}

ProcessedEvent EventPipeline::process(ProcessedEvent event) {
    const hotplug::Uevent& e = event.uevent;
    udev::Event input{e.properties()};
    udev::RuleOutcome outcome = udev::apply_rules(rules_, input, device_);
    for (const auto& m : outcome.matched)
        spdlog::info("{} {} SEQNUM={}: {}:{} matched", e.action, e.devpath, e.seqnum, m.file,
                     m.line);
    for (const auto& line : outcome.log) spdlog::warn("{}: {}", e.devpath, line);
    for (const auto& command : outcome.run)
        event.runs.push_back(run_command(command, outcome.properties));
    event.properties = broadcast_properties(outcome.properties, event.monotonic_us);
    event.matched = std::move(outcome.matched);
    event.attr_writes = std::move(outcome.attr_writes);
    event.log = std::move(outcome.log);
    return event;
}

sandbox::RunResult EventPipeline::spawn(const std::vector<std::string>& argv,
                                        const udev::Properties& env) const {
    return sandbox::run_program(sandbox::RunRequest{argv, environment_of(env), settings_.tree_root,
                                                    settings_.run_timeout, cancel_.get()});
}

udev::ProgramResult EventPipeline::run_program(const std::vector<std::string>& argv,
                                               const udev::Properties& env) const {
    const sandbox::RunResult r = spawn(argv, env);
    return udev::ProgramResult{r.exit_status, r.out};
}

RunRecord EventPipeline::run_command(const std::string& command,
                                     const udev::Properties& env) const {
    RunRecord record;
    record.command = command;
    const std::vector<std::string> argv = split_udev_command(command);
    if (argv.empty()) return record;
    const sandbox::RunResult r = spawn(argv, env);
    record.exit_status = r.exit_status;
    record.signal = r.signal;
    record.timed_out = r.timed_out;
    record.spawn_errno = r.spawn_errno;
    record.out = r.out;
    record.err = r.err;
    for (const std::string* stream : {&r.out, &r.err}) {
        size_t start = 0;
        while (start < stream->size()) {
            const size_t nl = stream->find('\n', start);
            const size_t end = nl == std::string::npos ? stream->size() : nl;
            spdlog::info("'{}'({}) '{}'", command, stream == &r.out ? "out" : "err",
                         stream->substr(start, end - start));
            start = end + 1;
        }
    }
    if (r.spawn_errno)
        spdlog::warn("'{}' could not be started: {}", command, r.spawn_error);
    else if (r.timed_out)
        spdlog::warn("'{}' timed out after {} ms, killed", command, settings_.run_timeout.count());
    else if (r.exit_status != 0)
        spdlog::warn("Process '{}' failed with exit code {}.", command, r.exit_status);
    return record;
}

}  // namespace hotplugfs
