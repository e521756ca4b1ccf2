// ChangeListener: what reacts to changes of the model (the FUSE server, the event log, the
// emulated udev, the D-Bus service) subscribes to LiveMachine and is told of each change
// once, as data.
#pragma once

#include <cstdint>
#include <vector>

#include "fsmodel/tree.h"
#include "hotplug/event.h"

namespace hotplugfs {

// When an operation's events happened: the event log's "time" and udev's USEC_INITIALIZED.
struct EventTime {
    int64_t realtime_ns = 0;
    int64_t monotonic_us = 0;
};

class ChangeListener {
  public:
    // What the kernel's caches must drop, first of all (before the events, and before the
    // operation returns to the writer, who is answered only then): the FUSE server's part.
    virtual void on_invalidations(const fsmodel::Invalidations&) {}
    // An operation's uevents, in SEQNUM order, after the model changed and the change was
    // persisted. Called with the operation lock held: queue, do not wait.
    virtual void on_events(const std::vector<hotplug::Uevent>& events, EventTime when) = 0;
    // After every operation that may have changed the model (the lock held). Must not block.
    virtual void on_changed() {}

  protected:
    ~ChangeListener() = default;
};

}  // namespace hotplugfs
