// ProcessedEvent: one uevent after the emulated udev handled it: the properties it broadcast,
// the rule lines that matched, the attribute writes they made and the RUN programs' results.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hotplug/event.h"
#include "udev/rules.h"

namespace hotplugfs {

struct RunRecord {
    std::string command;
    int exit_status = -1;  // -1: killed or not started
    int signal = 0;
    bool timed_out = false;
    int spawn_errno = 0;
    std::string out, err;
};

struct ProcessedEvent {
    hotplug::Uevent uevent;
    int64_t realtime_ns = 0;      // when the kernel side emitted it
    int64_t monotonic_us = 0;     // the same moment on CLOCK_MONOTONIC (udevadm monitor's clock)
    udev::Properties properties;  // as broadcast after rule processing
    std::vector<udev::MatchedLine> matched;
    std::vector<udev::AttrWrite> attr_writes;
    std::vector<RunRecord> runs;
    std::vector<std::string> log;
};

// Where an event goes once the emulated udev is done with it (the event log, the libudev
// broadcast). Called off the operation lock, in SEQNUM order, from one thread.
class EventSink {
  public:
    virtual void on_processed(const ProcessedEvent& event) = 0;

  protected:
    ~EventSink() = default;
};

}  // namespace hotplugfs
