// Where hotplugfsd's log goes: --log-file if given; otherwise stderr while the daemon still has
// the terminal it was started from, and syslog (the journal, where journald runs) once it has
// detached from it.
#pragma once

#include <memory>

#include "options.h"

namespace spdlog::sinks {
class sink;
template <typename Mutex>
class dist_sink;
}  // namespace spdlog::sinks

namespace hotplugfs {

class DaemonLog {
public:
    // Installs the default logger. False (with a message on stderr) for a bad level or an
    // unusable --log-file.
    bool start(const DaemonOptions& o);
    // In the forked daemon, before it reports readiness: log to syslog as well.
    void forked();
    // The daemon has given up its terminal: stop writing to it.
    void detached();

private:
    std::shared_ptr<spdlog::sinks::dist_sink<std::mutex>> sinks_;
    std::shared_ptr<spdlog::sinks::sink> terminal_;  // stderr, until detached(); null with --log-file
};

}  // namespace hotplugfs
