#include "udev/event_state.h"

#include <algorithm>
#include <cctype>

namespace hotplugfs::udev {

EventState::EventState(const Event& event, DeviceAccess& dev) : device(dev) {
    out.properties = event.properties;
    if (const std::string* p = property("DEVPATH")) devpath = *p;
    kernel = sysname_of(devpath);
}

const std::string* EventState::property(std::string_view key) const {
    for (const auto& [k, v] : out.properties)
        if (k == key) return &v;
    return nullptr;
}

void EventState::set_property(const std::string& key, const std::string& value) {
    // Replacing keeps the key where it was, as sd-device's ordered property map does.
    for (auto& [k, v] : out.properties) {
        if (k == key) {
            v = value;
            return;
        }
    }
    out.properties.emplace_back(key, value);
}

void EventState::erase_property(std::string_view key) {
    std::erase_if(out.properties, [&](const auto& kv) { return kv.first == key; });
}

std::optional<std::string> EventState::read_attr(const std::string& path, const std::string& attr) {
    auto key = std::make_pair(path, attr);
    if (auto it = attr_cache_.find(key); it != attr_cache_.end()) return it->second;
    std::optional<std::string> v = device.read_attr(path, attr);
    if (!v) return std::nullopt;
    while (!v->empty() && v->back() == '\n') v->pop_back();
    attr_cache_.emplace(std::move(key), *v);
    return v;
}

void EventState::forget_attr(const std::string& path, const std::string& attr) {
    attr_cache_.erase(std::make_pair(path, attr));
}

std::string EventState::subsystem_of(const std::string& path) {
    // The event's own device is described by the uevent; parents come from sysfs.
    if (path == devpath) {
        if (const std::string* s = property("SUBSYSTEM")) return *s;
    }
    return device.subsystem(path);
}

std::string EventState::driver_of(const std::string& path) {
    if (path == devpath) {
        if (const std::string* s = property("DRIVER")) return *s;
    }
    return device.driver(path);
}

bool EventState::has_devnum() const {
    return property("MAJOR") != nullptr && property("MINOR") != nullptr;
}

void EventState::log(const std::string& message) {
    std::string where = file_ != nullptr ? file_->path : std::string("n/a");
    unsigned number = line_ != nullptr ? line_->number : 0;
    out.log.push_back(where + ":" + std::to_string(number) + " " + message);
}

std::string sysname_of(std::string_view devpath) {
    std::size_t slash = devpath.rfind('/');
    std::string name(slash == std::string_view::npos ? devpath : devpath.substr(slash + 1));
    std::replace(name.begin(), name.end(), '!', '/');  // sysfs spells '/' in names as '!'
    return name;
}

std::string sysnum_of(std::string_view sysname) {
    std::size_t i = sysname.size();
    while (i > 0 && std::isdigit(static_cast<unsigned char>(sysname[i - 1]))) --i;
    if (i == 0) return {};  // an all-digit name has no number
    return std::string(sysname.substr(i));
}

}  // namespace hotplugfs::udev
