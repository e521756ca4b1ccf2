// EmulatedUdev: the machine's udev, when one was asked for: its rules and RUN programs (the
// EventPipeline) and the libudev broadcast into a private network namespace.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/event_pipeline.h"
#include "sandbox/udev_netlink.h"

namespace hotplugfs {

class EmulatedUdev final : public EventSink {
  public:
    struct Settings {
        std::vector<std::string> rules_dirs;
        std::optional<std::string> netns;  // --udev-netns: where libudev monitors listen
        EventPipeline::Settings pipeline;
    };

    // Loads the rules (logging the lines it cannot use), joins the network namespace and
    // subscribes to `state`; `log` (optional) records every processed event. Returns nullptr
    // when nothing was asked for; throws std::runtime_error naming the option that failed.
    // `handed_back`: the network namespace a previous daemon broadcast in (from a
    // file-descriptor store), taken over so that its monitors go on hearing; a new one is
    // created if it cannot be.
    static std::unique_ptr<EmulatedUdev> start(const Settings& settings, LiveMachine& live,
                                               EventSink* log,
                                               sandbox::UniqueFd handed_back = {});
    ~EmulatedUdev();
    EmulatedUdev(const EmulatedUdev&) = delete;
    EmulatedUdev& operator=(const EmulatedUdev&) = delete;

    // Kills a RUN or PROGRAM still running and ends event processing.
    void stop();
    // Before a handover: true once every event so far was processed and broadcast.
    bool drain(std::chrono::steady_clock::time_point deadline) {
        return !pipeline_ || pipeline_->drain(deadline);
    }

    // The namespace of the broadcast (nullptr without --udev-netns), and whether it was
    // handed back rather than created.
    const sandbox::PrivateNetns* netns() const { return netns_.get(); }
    bool netns_handed_back() const { return netns_handed_back_; }

    // The broadcast to libudev monitors, after the rules ran.
    void on_processed(const ProcessedEvent& event) override;

  private:
    struct Key {};  // only start() constructs

  public:
    explicit EmulatedUdev(Key) {}

  private:
    std::unique_ptr<sandbox::PrivateNetns> netns_;
    bool netns_handed_back_ = false;
    std::unique_ptr<sandbox::UdevBroadcaster> broadcaster_;
    std::unique_ptr<EventPipeline> pipeline_;
};

}  // namespace hotplugfs
