#include "bus/bus_backend.h"

#include "persist/state_file.h"
#include "persist/state_rules.h"

namespace hotplugfs::bus {

long Backend::write_file(uint64_t ino, std::string_view data) const {
    return live.write_file(ino, data, live.unattended(kMaxOfflineWaitMs)).result;
}

long Backend::write_path(const std::string& path, std::string_view data) const {
    const auto ino = live.resolve(path);
    return ino ? write_file(*ino, data) : -ENOENT;
}

long Backend::apply(const std::function<hotplug::Outcome(hotplug::Machine&)>& op) const {
    return live.apply(op, live.unattended()).result;
}

std::string Backend::save(const std::string& file) const {
    // Saved during a slow offline, the state is the one from before that write (state_rules.h).
    return persist::write_atomically(file, persist::encode(persist::at_rest(live.snapshot())));
}

int Backend::load(const std::string& file, std::string& why) const {
    auto read = persist::read(file);
    if (auto* err = std::get_if<persist::StateError>(&read)) {
        why = err->message();
        return -err->code;
    }
    const auto r = live.restore(std::move(std::get<hotplug::MachineSnapshot>(read)));
    if (r.result < 0) {
        const hotplug::Error& e = r.outcome.error;
        why = file + ": " + (e.field.empty() ? "" : e.field + ": ") + e.message;
    }
    return static_cast<int>(r.result);
}

}  // namespace hotplugfs::bus
