// EventPipeline: what a machine's udev does with the uevents the model emits. Off the FUSE
// threads, strictly in SEQNUM order, each event is matched against the rules, its ATTR
// assignments are written through the tree, its RUN programs run with the event's
// environment in a namespace that shows the emulated /sys, and the result is broadcast to
// libudev monitors and recorded in the event log.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "events/processed_event.h"
#include "events/tree_device.h"
#include "model/change_listener.h"
#include "sandbox/program_runner.h"
#include "sandbox/unique_fd.h"
#include "udev/rules.h"
#include "support/work_queue.h"

namespace hotplugfs {

class EventPipeline : public ChangeListener {
  public:
    struct Settings {
        std::string tree_root;  // the mount point RUN and PROGRAM see as /sys
        std::chrono::milliseconds run_timeout{180000};  // udev's default event timeout
        Platform platform;
    };
    EventPipeline(LiveMachine& live, udev::RuleSet rules, Settings settings);
    ~EventPipeline();
    EventPipeline(const EventPipeline&) = delete;
    EventPipeline& operator=(const EventPipeline&) = delete;

    void add_sink(EventSink& sink) { sinks_.push_back(&sink); }  // before start()
    void start();
    // Kills a RUN or PROGRAM still running, finishes the event in progress, drops the rest.
    void stop();
    // Before a handover: true once every event submitted so far was delivered, false at
    // `deadline`.
    bool drain(std::chrono::steady_clock::time_point deadline) { return events_.drain(deadline); }

    // Called with the model's events as they happen (the operation lock held): only queues.
    void submit(const std::vector<hotplug::Uevent>& events, int64_t realtime_ns,
                int64_t monotonic_us);
    void on_events(const std::vector<hotplug::Uevent>& events, EventTime when) override {
        submit(events, when.realtime_ns, when.monotonic_us);
    }

  private:
    void deliver(ProcessedEvent& event);
    ProcessedEvent process(ProcessedEvent event);
    udev::ProgramResult run_program(const std::vector<std::string>& argv,
                                    const udev::Properties& env) const;
    sandbox::RunResult spawn(const std::vector<std::string>& argv,
                             const udev::Properties& env) const;
    RunRecord run_command(const std::string& command, const udev::Properties& env) const;

    udev::RuleSet rules_;
    Settings settings_;
    TreeDevice device_;
    std::vector<EventSink*> sinks_;  // set before start()
    sandbox::UniqueFd cancel_;  // an eventfd: readable once stop() began

    WorkQueue<ProcessedEvent> events_{[this](ProcessedEvent& e) { deliver(e); }};  // in SEQNUM order
};

// Splits a RUN or PROGRAM value into argv the way udev does: words separated by blanks,
// single and double quotes grouping. A relative program is looked up in /usr/lib/udev.
std::vector<std::string> split_udev_command(const std::string& command);

}  // namespace hotplugfs
