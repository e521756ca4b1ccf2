// EventLog: an append-only JSON-lines record of every uevent, for people and for tests.
// One line per event: {"seqnum":N,"time":"2026-11-23T12:00:00.123456Z","action":...,
// "devpath":...,"subsystem":...,"env":{"ACTION":...,...}}.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hotplug/event.h"

namespace hotplugfs {

class EventLog {
public:
    // Opens (creating, appending) `path`; throws std::runtime_error naming the file on failure.
    explicit EventLog(const std::string& path);
    void append(const std::vector<hotplug::Uevent>& events);

private:
    struct Closer {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::mutex mu_;  // guards file_
    std::unique_ptr<std::FILE, Closer> file_;
};

}  // namespace hotplugfs
