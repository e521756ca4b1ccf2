#include "bus/bus_service.h"

#include "bus/bus_guard.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "bus_api/bus_errors.h"
#include "bus_api/bus_names.h"
#include "bus/bus_objects.h"
#include "hotplug/machine.h"
#include "support/printable.h"

namespace hotplugfs::bus {
namespace {

std::runtime_error failure(const std::string& what, int r) {
    return std::runtime_error(what + ": " + std::strerror(r < 0 ? -r : r));
}

// A socket file left by a daemon that died: nobody accepts on it any more.
bool stale_socket(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    const bool refused =
        connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno == ECONNREFUSED;
    close(fd);
    return refused;
}

// Clients that expect a bus (busctl, sd_bus_open_system_with_address) greet it with Hello and
// subscribe to signals with AddMatch: on the private socket the daemon answers for the bus.
int driver_hello(sd_bus_message* m, void*, sd_bus_error*) {
    static std::atomic<uint64_t> next{1};
    const std::string name = ":1." + std::to_string(next++);
    return sd_bus_reply_method_return(m, "s", name.c_str());
}

int driver_accept(sd_bus_message* m, void*, sd_bus_error*) {
    return sd_bus_reply_method_return(m, "");
}

int driver_name_owner(sd_bus_message* m, void*, sd_bus_error*) {
    return sd_bus_reply_method_return(m, "s", ":1.0");
}

// A peer that stops reading its socket would have every later signal queued for it here, up to
// sd-bus's limit of 384k messages (about 400 MiB of Uevents). Past this many unsent messages
// (about 9 MiB; a burst larger than that is a hot-add of 4096 blocks at once) it is
// disconnected instead: a gap it could not see would be worse, and the end of the connection
// tells it to reconnect and read the state again.
constexpr uint64_t kMaxQueuedPerPeer = 8192;

const sd_bus_vtable kDriverVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Hello", "", "s", driver_hello, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("AddMatch", "s", "", guarded<BusService::on_add_match>,
                  SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("RemoveMatch", "s", "", driver_accept, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("GetNameOwner", "s", "s", driver_name_owner, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END};

}  // namespace

BusService::BusService(Backend backend, Options options)
    : backend_(std::move(backend)), options_(std::move(options)) {
    register_error_map();
    if (int r = sd_event_new(&event_); r < 0) throw failure("sd-event", r);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw failure("eventfd", errno);
    if (int r = sd_event_add_io(event_, &wake_source_, wake_fd_, EPOLLIN, on_wakeup, this); r < 0)
        throw failure("sd-event", r);
    backend_.defer = [this](sd_bus_message* m, std::function<MethodResult()> work) {
        return defer(m, std::move(work));
    };
    connect_bus();
    listen_socket();
    std::tie(last_params_, last_devices_) = watched();  // compared in emit_changes()
}

BusService::~BusService() {
    stop();
    for (sd_bus* peer : peers_) sd_bus_flush_close_unref(peer);
    if (bus_) sd_bus_flush_close_unref(bus_);
    sd_event_source_unref(listen_source_);
    sd_event_source_unref(wake_source_);
    if (listen_fd_ >= 0) {
        close(listen_fd_);
        unlink(options_.socket_path.c_str());
    }
    if (wake_fd_ >= 0) close(wake_fd_);
    sd_event_unref(event_);
}

void BusService::connect_bus() {
    const std::string& which = options_.bus;
    if (which == "none") return;
    int r = 0;
    if (which == "system") {
        r = sd_bus_open_system(&bus_);
    } else if (which == "session") {
        r = sd_bus_open_user(&bus_);
    } else {
        if ((r = sd_bus_new(&bus_)) >= 0 && (r = sd_bus_set_address(bus_, which.c_str())) >= 0 &&
            (r = sd_bus_set_bus_client(bus_, 1)) >= 0)
            r = sd_bus_start(bus_);
    }
    if (r < 0) throw failure("cannot connect to the " + which + " bus", r);
    if ((r = serve_connection(bus_)) < 0) throw failure("cannot serve on the " + which + " bus", r);
    if ((r = sd_bus_request_name(bus_, kBusName, 0)) < 0)
        throw failure(std::string("cannot own ") + kBusName + " on the " + which + " bus", r);
    ++listeners_;
}

void BusService::listen_socket() {
    const std::string& path = options_.socket_path;
    if (path.empty()) return;
    if (options_.listen_fd >= 0) {
        listen_fd_ = std::exchange(options_.listen_fd, -1);
        if (sd_is_socket_unix(listen_fd_, SOCK_STREAM, 1, path.c_str(), 0) <= 0) {
            close(std::exchange(listen_fd_, -1));
            throw std::runtime_error(path + ": the socket handed over does not listen there");
        }
        fcntl(listen_fd_, F_SETFL, fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
    } else {
        bind_socket(path);
    }
    if (int r = sd_event_add_io(event_, &listen_source_, listen_fd_, EPOLLIN, on_accept, this);
        r < 0)
        throw failure("sd-event", r);
}

void BusService::bind_socket(const std::string& path) {
    sockaddr_un sa{};
    if (path.size() >= sizeof sa.sun_path) throw std::runtime_error(path + ": path too long");
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode) || !stale_socket(path))
            throw std::runtime_error(path + ": exists (another daemon serves it?)");
        unlink(path.c_str());
    }
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) throw failure(path, errno);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        throw failure(path, errno);
    // Everyone may connect: reads are public, and methods check the caller themselves.
    chmod(path.c_str(), 0666);
    if (listen(listen_fd_, 64) != 0) throw failure(path, errno);
}

int BusService::serve_connection(sd_bus* bus) {
    if (int r = add_objects(bus, backend_); r < 0) return r;
    if (int r = sd_bus_add_object_manager(bus, nullptr, kManagerPath); r < 0) return r;
    return sd_bus_attach_event(bus, event_, SD_EVENT_PRIORITY_NORMAL);
}

int BusService::on_accept(sd_event_source*, int fd, uint32_t, void* userdata) {
    auto* self = static_cast<BusService*>(userdata);
    const int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) return 0;
    self->prune_peers();
    sd_bus* peer = nullptr;
    sd_id128_t id{};
    int r = sd_id128_randomize(&id);
    if (r >= 0) r = sd_bus_new(&peer);
    if (r >= 0) r = sd_bus_set_fd(peer, conn, conn);
    if (r >= 0) r = sd_bus_set_server(peer, 1, id);
    if (r >= 0) r = sd_bus_negotiate_creds(peer, 1, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID);
    if (r >= 0) r = sd_bus_start(peer);
    if (r >= 0) r = self->serve_connection(peer);
    if (r >= 0)
        r = sd_bus_add_object_vtable(peer, nullptr, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                     kDriverVtable, self);
    if (r < 0) {
        spdlog::warn("D-Bus peer connection refused: {}", std::strerror(-r));
        if (peer)
            sd_bus_flush_close_unref(peer);
        else
            close(conn);
        return 0;
    }
    self->peers_.push_back(peer);
    return 0;
}

void report_callback_exception(const char* what) noexcept {
    try {
        spdlog::error("a D-Bus call failed with an exception (answered EIO): {}", what);
    } catch (...) {
    }
}

int exception_error(sd_bus_error* error, const char* what) noexcept {
    try {
        return set_errno_error(error, EIO, std::string("internal error: ") + what);
    } catch (...) {
        return -EIO;
    }
}

int BusService::on_add_match(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* self = static_cast<BusService*>(userdata);
    sd_bus* peer = sd_bus_message_get_bus(m);
    if (std::find(self->subscribed_.begin(), self->subscribed_.end(), peer) ==
        self->subscribed_.end())
        self->subscribed_.push_back(peer);
    self->count_listeners();
    return sd_bus_reply_method_return(m, "");
}

void BusService::count_listeners() { listeners_ = subscribed_.size() + (bus_ ? 1 : 0); }

void BusService::prune_peers() {
    std::erase_if(peers_, [this](sd_bus* peer) {
        if (sd_bus_is_open(peer) > 0) return false;
        std::erase(subscribed_, peer);
        sd_bus_flush_close_unref(peer);
        return true;
    });
    count_listeners();
}

void BusService::start() {
    thread_ = std::thread([this] {
        if (int r = sd_event_loop(event_); r < 0)
            spdlog::error("D-Bus event loop: {}", std::strerror(-r));
    });
    deferred_.start();
}

void BusService::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    wake();
    if (thread_.joinable()) thread_.join();
    // The mount has stopped by now, so a deferred offline has stopped waiting too.
    deferred_.stop();
    deferred_.join();
    for (Deferred& d : deferred_.take_pending()) sd_bus_message_unref(d.call);
    for (Deferred& d : replies_) sd_bus_message_unref(d.call);
    replies_.clear();
}

void BusService::wake() {
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) != sizeof one) spdlog::warn("cannot wake the bus loop");
}

// Bus thread: the call is kept (referenced) and answered by send_replies().
int BusService::defer(sd_bus_message* m, std::function<MethodResult()> work) {
    sd_bus_message* call = sd_bus_message_ref(m);
    if (!deferred_.push(Deferred{call, std::move(work), {}})) {
        sd_bus_message_unref(call);
        return -ESHUTDOWN;
    }
    return 1;
}

void BusService::run_deferred(Deferred& d) {
    try {
        d.result = d.work();
    } catch (const std::exception& e) {
        report_callback_exception(e.what());
        d.result = MethodResult{EIO, "internal error", {}, {}};
    } catch (...) {
        report_callback_exception("unknown exception");
        d.result = MethodResult{EIO, "internal error", {}, {}};
    }
    {
        std::lock_guard replies(mu_);
        replies_.push_back(std::move(d));
    }
    wake();
}

void BusService::send_replies() {
    std::deque<Deferred> done;
    {
        std::lock_guard lock(mu_);
        done.swap(replies_);
    }
    for (Deferred& d : done) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = 0;
        const MethodResult& res = d.result;
        if (res.error) {
            if (res.message.empty())
                set_errno_error(&error, res.error, res.what);
            else
                sd_bus_error_set(&error, error_name(res.error).c_str(),
                                 printable(res.message, true).c_str());
            r = sd_bus_reply_method_error(d.call, &error);
        } else if (res.value) {
            r = sd_bus_reply_method_return(d.call, "s", res.value->c_str());
        } else {
            r = sd_bus_reply_method_return(d.call, "");
        }
        // The caller may have gone meanwhile: nobody to tell.
        if (r < 0) spdlog::debug("deferred D-Bus reply: {}", std::strerror(-r));
        sd_bus_error_free(&error);
        sd_bus_message_unref(d.call);
    }
}

void BusService::publish(const std::vector<hotplug::Uevent>& events) {
    if (listeners_ == 0) return;
    {
        std::lock_guard lock(mu_);
        pending_.insert(pending_.end(), events.begin(), events.end());
        changed_ = true;
    }
    wake();
}

void BusService::changed() {
    if (listeners_ == 0) return;
    {
        std::lock_guard lock(mu_);
        if (std::exchange(changed_, true)) return;  // a wake-up is already on its way
    }
    wake();
}

int BusService::on_wakeup(sd_event_source*, int fd, uint32_t, void* userdata) {
    auto* self = static_cast<BusService*>(userdata);
    uint64_t count = 0;
    if (read(fd, &count, sizeof count) < 0 && errno != EAGAIN) return 0;
    bool stopping = false;
    {
        std::lock_guard lock(self->mu_);
        stopping = self->stopping_;
    }
    self->send_replies();
    self->prune_peers();
    self->flush();
    if (stopping) sd_event_exit(self->event_, 0);
    return 0;
}

std::vector<sd_bus*> BusService::connections() const {
    std::vector<sd_bus*> out = subscribed_;
    if (bus_) out.push_back(bus_);
    return out;
}

void BusService::flush() {
    std::deque<hotplug::Uevent> events;
    bool changed = false;
    {
        std::lock_guard lock(mu_);
        events.swap(pending_);
        changed = std::exchange(changed_, false);
    }
    for (sd_bus* bus : connections())
        for (const auto& e : events) {
            if (!keeps_up(bus)) break;
            emit_uevent(bus, e);
        }
    prune_peers();
    if (changed) emit_changes();
}

bool BusService::keeps_up(sd_bus* peer) {
    uint64_t queued = 0;
    if (peer == bus_ || sd_bus_get_n_queued_write(peer, &queued) < 0 ||
        queued <= kMaxQueuedPerPeer)
        return true;
    spdlog::warn("D-Bus: disconnecting a subscriber that does not read its socket ({} messages "
                 "unsent)",
                 queued);
    sd_bus_close(peer);
    return false;
}

void BusService::emit_uevent(sd_bus* bus, const hotplug::Uevent& e) {
    sd_bus_message* m = nullptr;
    int r = sd_bus_message_new_signal(bus, &m, kManagerPath, kManagerInterface, "Uevent");
    if (r >= 0)
        r = sd_bus_message_append(m, "tsss", e.seqnum, e.action.c_str(), e.devpath.c_str(),
                                  e.subsystem.c_str());
    if (r >= 0) r = sd_bus_message_open_container(m, 'a', "{ss}");
    for (const auto& [key, value] : e.properties())
        if (r >= 0) r = sd_bus_message_append(m, "{ss}", key.c_str(), value.c_str());
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_send(bus, m, nullptr);
    if (r < 0) spdlog::debug("Uevent signal SEQNUM={}: {}", e.seqnum, std::strerror(-r));
    sd_bus_message_unref(m);
}

BusService::Watched BusService::watched() const {
    return backend_.live.read([](const hotplug::Machine& m, const fsmodel::Tree&) {
        Watched w;
        w.first = m.params();
        for (const auto& d : m.devices()) w.second.emplace_back(d.spec.name, d.plugged);
        return w;
    });
}

// Parameters and device sizes: compared with what was announced last, since changes to them
// reach the daemon from many places (the mount, udev rules, the bus).
void BusService::emit_changes() {
    auto [params, devices] = watched();
    std::vector<const char*> changed_properties = changed_parameter_properties(last_params_, params);
    changed_properties.push_back(nullptr);
    last_params_ = params;
    std::vector<std::pair<std::string, uint64_t>> changed_devices;
    for (const auto& d : devices) {
        auto it = std::find_if(last_devices_.begin(), last_devices_.end(),
                               [&](const auto& old) { return old.first == d.first; });
        if (it == last_devices_.end() || it->second != d.second) changed_devices.push_back(d);
    }
    // A device added at runtime and unplugged is gone: its last word is "nothing plugged".
    for (const auto& old : last_devices_)
        if (std::none_of(devices.begin(), devices.end(),
                         [&](const auto& d) { return d.first == old.first; }))
            changed_devices.emplace_back(old.first, 0);
    last_devices_ = std::move(devices);
    for (sd_bus* bus : connections()) {
        if (!keeps_up(bus)) continue;
        if (changed_properties.size() > 1)
            sd_bus_emit_properties_changed_strv(bus, kManagerPath, kManagerInterface,
                                                const_cast<char**>(changed_properties.data()));
        for (const auto& [name, plugged] : changed_devices)
            sd_bus_emit_signal(bus, kManagerPath, kManagerInterface, "DeviceChanged", "st",
                               name.c_str(), plugged);
    }
}

}  // namespace hotplugfs::bus
