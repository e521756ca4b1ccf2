// EventLog: an append-only JSON-lines record of every uevent, for people and for tests.
// Like `udevadm monitor`, an event appears twice: a "kernel" line when the model emits it
//   {"source":"kernel","seqnum":N,"time":"2026-11-23T12:00:00.123456Z","monotonic_usec":U,
//    "action":...,"devpath":...,"subsystem":...,"env":{"ACTION":...,...}}
// and, when the daemon emulates udev, a "udev" line once the rules and RUN programs are done:
// the same keys with the properties as broadcast in "env", plus "rules" (matched file:line),
// "attr_writes" (with the errno name of failed ones), "run" (exit codes and output) and "log".
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "events/processed_event.h"
#include "hotplug/event.h"
#include "model/change_listener.h"

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

  private:
    void write_line(const std::string& line);

    struct Closer {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::mutex mu_;  // guards file_
    std::unique_ptr<std::FILE, Closer> file_;
};

}  // namespace hotplugfs
