#include "logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <mutex>

#include "sandbox/safe_open.h"
#include "support/printable.h"

namespace hotplugfs {
namespace {

// --log-file: spdlog's file sink opens by name, and would follow a link planted there. This
// one writes to the descriptor sandbox::open_own_file() opened, each message with one
// write() (O_APPEND), so nothing is kept back to flush.
class OpenedFileSink final : public spdlog::sinks::base_sink<std::mutex> {
  public:
    explicit OpenedFileSink(sandbox::UniqueFd fd) : fd_(std::move(fd)) {}

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t text;
        formatter_->format(msg, text);
        const char* p = text.data();
        size_t left = text.size();
        while (left > 0) {
            const ssize_t n = ::write(fd_.get(), p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;  // a log that cannot be written has no one to tell
            p += n;
            left -= static_cast<size_t>(n);
        }
    }
    void flush_() override {}

  private:
    sandbox::UniqueFd fd_;
};

// The pattern's %* is the message with what users wrote escaped (support/printable.h): a
// newline in a device name or a written value cannot forge a log line.
class EscapedMessage final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const std::string text = printable({msg.payload.data(), msg.payload.size()});
        dest.append(text.data(), text.data() + text.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<EscapedMessage>();
    }
};

std::unique_ptr<spdlog::formatter> escaping_formatter(const std::string& pattern) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<EscapedMessage>('*').set_pattern(pattern);
    return formatter;
}

}  // namespace

bool DaemonLog::start(const DaemonOptions& o) {
    const auto level = spdlog::level::from_str(o.log_level);
    if (level == spdlog::level::off && o.log_level != "off") {
        std::fprintf(stderr, "hotplugfsd: unknown log level '%s'\n", printable(o.log_level).c_str());
        return false;
    }
    try {
        // The sinks change at run time (detached()), while other threads log: dist_sink_mt
        // guards its list with its own mutex.
        sinks_ = std::make_shared<spdlog::sinks::dist_sink_mt>();
        if (o.log_file) {
            auto file = sandbox::open_own_file(*o.log_file, sandbox::OpenFor::Appending);
            if (!file.fd) {
                std::fprintf(stderr, "hotplugfsd: --log-file %s: %s\n", printable(*o.log_file).c_str(),
                             file.error.c_str());
                return false;
            }
            sinks_->add_sink(std::make_shared<OpenedFileSink>(std::move(file.fd)));
        } else {
            terminal_ = std::make_shared<spdlog::sinks::stderr_sink_mt>();
            sinks_->add_sink(terminal_);
        }
        auto logger = std::make_shared<spdlog::logger>("hotplugfsd", sinks_);
        logger->set_formatter(escaping_formatter("[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] %*"));
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
    syslog->set_formatter(escaping_formatter("%*"));  // syslog stamps time, host and ident
    sinks_->add_sink(std::move(syslog));
}

void DaemonLog::detached() {
    if (terminal_) sinks_->remove_sink(terminal_);
    terminal_.reset();
}

}  // namespace hotplugfs
