#include "events/emulated_udev.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace hotplugfs {

std::unique_ptr<EmulatedUdev> EmulatedUdev::start(const Settings& settings, LiveMachine& live,
                                                  EventSink* log, sandbox::UniqueFd handed_back) {
    if (settings.rules_dirs.empty() && !settings.netns) return nullptr;
    udev::RuleSet rules = udev::load_rules(settings.rules_dirs);
    for (const auto& e : rules.errors()) spdlog::error("{}:{}: {}", e.file, e.line, e.message);
    const size_t dirs = settings.rules_dirs.size();
    spdlog::info("udev rules: {} rule lines from {} director{}", rules.rule_lines(), dirs,
                 dirs == 1 ? "y" : "ies");
    auto udev = std::make_unique<EmulatedUdev>(Key{});
    if (settings.netns) {
        try {
            if (handed_back) {
                try {
                    udev->netns_ =
                        std::make_unique<sandbox::PrivateNetns>(*settings.netns, std::move(handed_back));
                    udev->netns_handed_back_ = true;
                } catch (const std::exception& e) {
                    spdlog::warn("--udev-netns {}: not taking over the namespace handed back: {}",
                                 *settings.netns, e.what());
                }
            }
            if (!udev->netns_)
                udev->netns_ = std::make_unique<sandbox::PrivateNetns>(*settings.netns);
            udev->broadcaster_ = std::make_unique<sandbox::UdevBroadcaster>(*udev->netns_);
        } catch (const std::exception& e) {
            std::string why = "--udev-netns ";
            why += *settings.netns;
            why += ": ";
            why += e.what();
            throw std::runtime_error(why);
        }
    }
    udev->pipeline_ = std::make_unique<EventPipeline>(live, std::move(rules), settings.pipeline);
    if (udev->broadcaster_) udev->pipeline_->add_sink(*udev);
    if (log) udev->pipeline_->add_sink(*log);
    live.subscribe(*udev->pipeline_);
    udev->pipeline_->start();
    return udev;
}

EmulatedUdev::~EmulatedUdev() {
    stop();
}

void EmulatedUdev::stop() {
    if (pipeline_) pipeline_->stop();
}

void EmulatedUdev::on_processed(const ProcessedEvent& p) {
    if (const std::string why = broadcaster_->send(p.properties); !why.empty())
        spdlog::warn("udev broadcast of {} SEQNUM={}: {}", p.uevent.devpath, p.uevent.seqnum, why);
}

}  // namespace hotplugfs
