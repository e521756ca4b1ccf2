// BusService: the D-Bus side of the daemon. One thread runs an sd-event loop serving
//  - a bus connection (system, session or a given address) holding org.hotplugfs.HotplugFS,
//    when asked for, and
//  - always, a private peer-to-peer socket (sd-bus server mode) in the runtime directory, for
//    containers and tests without a bus.
// Method calls run on that thread, except those that may wait (an offline that migrates
// slowly): they run in call order on a worker thread and are answered from the loop when done,
// so reads and signals go on meanwhile. Signals (Uevent, DeviceChanged, PropertiesChanged)
// are queued from any thread and sent from the loop, to every connection.
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus_backend.h"
#include "hotplug/event.h"
#include "hotplug/params.h"
#include "model/change_listener.h"
#include "support/work_queue.h"

namespace hotplugfs::bus {

class BusService : public ChangeListener {
  public:
    struct Options {
        std::string bus = "none";  // none, system, session, or a D-Bus address
        std::string socket_path;   // the private socket; "" for none
        // The private socket already listening at socket_path (a planned restart hands it
        // over, so that no client is refused meanwhile): owned from now on. -1: make it.
        int listen_fd = -1;
    };

    // Connects, takes the bus name and listens; throws std::runtime_error with the reason.
    BusService(Backend backend, Options options);
    ~BusService();
    BusService(const BusService&) = delete;
    BusService& operator=(const BusService&) = delete;

    // The private socket's AddMatch (in the driver vtable): from now on the peer gets signals.
    static int on_add_match(sd_bus_message* m, void* self, sd_bus_error* error);

    void start();
    void stop();
    // The private socket's listening descriptor (-1 without one), for a handover.
    int listening_socket() const { return listen_fd_; }

    // From any thread, never blocking on the bus: uevents to signal.
    void publish(const std::vector<hotplug::Uevent>& events);
    // From any thread: the machine changed; parameters and devices are compared and the
    // changes signalled.
    void changed();
    // As a listener of the machine: Uevent signals, then PropertiesChanged where due.
    void on_events(const std::vector<hotplug::Uevent>& events, EventTime) override {
        publish(events);
    }
    void on_changed() override { changed(); }

  private:
    static int on_accept(sd_event_source* s, int fd, uint32_t revents, void* self);
    static int on_wakeup(sd_event_source* s, int fd, uint32_t revents, void* self);
    int defer(sd_bus_message* m, std::function<MethodResult()> work);
    void send_replies();
    void wake();
    void connect_bus();
    void listen_socket();
    void bind_socket(const std::string& path);
    int serve_connection(sd_bus* bus);
    void flush();
    void emit_uevent(sd_bus* bus, const hotplug::Uevent& e);
    void emit_changes();
    // False (and the peer closed, pruned later) when a private-socket peer has too many
    // messages waiting to be written to it.
    bool keeps_up(sd_bus* peer);
    void prune_peers();
    void count_listeners();
    std::vector<sd_bus*> connections() const;
    // Parameters as one comparable text, and each device's plugged bytes.
    using Watched = std::pair<hotplug::Params, std::vector<std::pair<std::string, uint64_t>>>;
    Watched watched() const;

    Backend backend_;
    Options options_;
    sd_event* event_ = nullptr;   // bus thread only after start()
    sd_bus* bus_ = nullptr;       // the bus connection, or null
    std::vector<sd_bus*> peers_;  // private socket clients; bus thread only
    // Peers that subscribed (AddMatch), as a bus delivers signals only to those: a client that
    // calls methods must not get a signal before the reply to its Hello. Bus thread only.
    std::vector<sd_bus*> subscribed_;
    // Connections that may want signals: while there are none, changes wake nobody (a state
    // write then costs no thread switch).
    std::atomic<size_t> listeners_{0};
    int listen_fd_ = -1;
    int wake_fd_ = -1;  // eventfd: publish()/changed()/stop() wake the loop
    sd_event_source* listen_source_ = nullptr;
    sd_event_source* wake_source_ = nullptr;

    std::mutex mu_;  // guards pending_, changed_, stopping_
    std::deque<hotplug::Uevent> pending_;
    bool changed_ = false;
    bool stopping_ = false;

    // What was last announced (bus thread only).
    hotplug::Params last_params_;
    std::vector<std::pair<std::string, uint64_t>> last_devices_;
    std::thread thread_;

    // Deferred methods: calls waiting for the worker, and results waiting for the loop. Each
    // holds a reference to its call message.
    struct Deferred {
        sd_bus_message* call;
        std::function<MethodResult()> work;
        MethodResult result;
    };
    void run_deferred(Deferred& d);
    std::deque<Deferred> replies_;  // guarded by mu_
    WorkQueue<Deferred> deferred_{[this](Deferred& d) { run_deferred(d); }};  // in call order
};

}  // namespace hotplugfs::bus
