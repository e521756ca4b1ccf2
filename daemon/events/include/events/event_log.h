// EventLog: an append-only JSON-lines record of every uevent, for people and for tests.
// Like `udevadm monitor`, an event appears twice: a "kernel" line when the model emits it
//   {"source":"kernel","seqnum":N,"time":"2026-11-23T12:00:00.123456Z","monotonic_usec":U,
//    "action":...,"devpath":...,"subsystem":...,"env":{"ACTION":...,...}}
// and, when the daemon emulates udev, a "udev" line once the rules and RUN programs are done:
// the same keys with the properties as broadcast in "env", plus "rules" (matched file:line),
// "attr_writes" (with the errno name of failed ones), "run" (exit codes and output) and "log".
//
// Every line is one whole JSON object: each is appended with one write(), and a write that
// stops short (a full file system) is cut off again. Lines that cannot be written are counted
// instead; the first failure is logged, state() says "failing: <reason>" until a line can be
// written again, and that line comes after (in the same write())
//   {"source":"event-log","lost":N,"first_seqnum":A,"last_seqnum":B}
// for the N lines (kernel and udev ones alike) with SEQNUMs A..B that are missing.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "events/processed_event.h"
#include "hotplug/event.h"
#include "model/change_listener.h"
#include "sandbox/unique_fd.h"

namespace hotplugfs {

class EventLog : public ChangeListener, public EventSink {
  public:
    // Opens (creating, appending) `path`, a plain file of this user and no link
    // (sandbox::open_own_file); throws std::runtime_error "PATH: reason" on failure.
    explicit EventLog(const std::string& path);
    void append_kernel(const std::vector<hotplug::Uevent>& events, int64_t realtime_ns,
                       int64_t monotonic_us);
    void append_udev(const ProcessedEvent& event);
    void on_events(const std::vector<hotplug::Uevent>& events, EventTime when) override {
        append_kernel(events, when.realtime_ns, when.monotonic_us);
    }
    void on_processed(const ProcessedEvent& event) override { append_udev(event); }

    // "ok", or "failing: <errno text>" from the first line that could not be written until the
    // next one that can.
    std::string state() const;

  private:
    void write_line(std::string line, uint64_t seqnum);
    // Appends `text` whole, or not at all: 0 or the errno.
    int append(const std::string& text);
    void count_lost(uint64_t seqnum, int error);

    const std::string path_;
    mutable std::mutex mu_;  // guards everything below
    sandbox::UniqueFd fd_;
    int error_ = 0;  // the errno of the write that started the current run of lost lines
    uint64_t lost_ = 0, first_lost_ = 0, last_lost_ = 0;  // SEQNUMs of that run
};

}  // namespace hotplugfs
