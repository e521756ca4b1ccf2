#include "logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <cstdio>

namespace hotplugfs {

bool DaemonLog::start(const DaemonOptions& o) {
    const auto level = spdlog::level::from_str(o.log_level);
    if (level == spdlog::level::off && o.log_level != "off") {
        std::fprintf(stderr, "hotplugfsd: unknown log level '%s'\n", o.log_level.c_str());
        return false;
    }
    try {
        // The sinks change at run time (detached()), while other threads log: dist_sink_mt
        // guards its list with its own mutex.
        sinks_ = std::make_shared<spdlog::sinks::dist_sink_mt>();
        if (o.log_file) {
            sinks_->add_sink(std::make_shared<spdlog::sinks::basic_file_sink_mt>(*o.log_file));
        } else {
            terminal_ = std::make_shared<spdlog::sinks::stderr_sink_mt>();
            sinks_->add_sink(terminal_);
        }
        auto logger = std::make_shared<spdlog::logger>("hotplugfsd", sinks_);
        logger->set_level(level);
        logger->flush_on(spdlog::level::info);
        spdlog::set_default_logger(logger);
    } catch (const spdlog::spdlog_ex& e) {
        std::fprintf(stderr, "hotplugfsd: %s\n", e.what());
        return false;
    }
    return true;
}

void DaemonLog::forked() {
    if (!terminal_) return;  // --log-file: the file stays the one place
    auto syslog = std::make_shared<spdlog::sinks::syslog_sink_mt>("hotplugfsd", LOG_PID,
                                                                  LOG_DAEMON, false);
    syslog->set_pattern("%v");  // syslog stamps time, host and ident itself
    sinks_->add_sink(std::move(syslog));
}

void DaemonLog::detached() {
    if (terminal_) sinks_->remove_sink(terminal_);
    terminal_.reset();
}

}  // namespace hotplugfs
