#include "bus/bus_objects.h"

#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <string>
#include <vector>

#include "bus_api/bus_errors.h"
#include "bus/bus_guard.h"
#include "bus_api/bus_names.h"
#include "bus/method_support.h"
#include "hotplug/machine.h"
#include "hotplug/param_table.h"
#include "support/test_fault.h"

namespace hotplugfs::bus {

namespace {

constexpr const char* kMem = "devices/system/memory/";
constexpr const char* kParams = "module/memory_hotplug/parameters/";

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
}

// --- Manager1 methods ----------------------------------------------------------------------------
int method_probe(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    uint64_t address = 0;
    if (int r = sd_bus_message_read(m, "t", &address); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    return reply_write(m, backend_of(userdata), std::string(kMem) + "probe", hex(address));
}

int method_online(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    uint64_t block = 0;
    const char* type = nullptr;
    if (int r = sd_bus_message_read(m, "ts", &block, &type); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    std::string word;
    if (int r = online_word(type, word, error); r < 0) return r;
    return reply_write(m, backend_of(userdata), block_path(block, "state"), word);
}

int method_offline(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    uint64_t block = 0;
    if (int r = sd_bus_message_read(m, "t", &block); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    return reply_write(m, backend_of(userdata), block_path(block, "state"), "offline");
}

int method_set_parameter(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    const char* name = nullptr;
    const char* value = nullptr;
    if (int r = sd_bus_message_read(m, "ss", &name, &value); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    const hotplug::ParamSpec* param = hotplug::find_param(name);
    if (!param || param->file == hotplug::ParamFile::None)
        return set_errno_error(error, ENOENT, "parameter '" + std::string(name) + "'");
    const char* dir = param->file == hotplug::ParamFile::MemoryRoot ? kMem : kParams;
    return reply_write(m, backend_of(userdata), std::string(dir) + name, value);
}

int method_plug_device(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    const char* name = nullptr;
    if (int r = sd_bus_message_read(m, "s", &name); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    return device_write(m, error, backend_of(userdata), name, std::nullopt);
}

int method_unplug_device(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    const char* name = nullptr;
    if (int r = sd_bus_message_read(m, "s", &name); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    return device_unplug(m, error, backend_of(userdata), name);
}

int method_resize_device(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    const char* name = nullptr;
    uint64_t size = 0;
    if (int r = sd_bus_message_read(m, "st", &name, &size); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    return device_write(m, error, backend_of(userdata), name, size);
}

// AddDevice's options: name (s), start, unit, requested (t). Unknown ones are refused, so
// that a misspelt option is not silently a default.
int read_device_options(sd_bus_message* m, hotplug::NewDevice& n, sd_bus_error* error) {
    int r = sd_bus_message_enter_container(m, 'a', "{sv}");
    if (r < 0) return r;
    while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
        const char* key = nullptr;
        if ((r = sd_bus_message_read(m, "s", &key)) < 0) return r;
        const std::string k = key;
        if (k == "name") {
            const char* name = nullptr;
            if ((r = sd_bus_message_read(m, "v", "s", &name)) < 0) return r;
            n.name = name;
        } else if (k == "start" || k == "unit" || k == "requested") {
            uint64_t v = 0;
            if ((r = sd_bus_message_read(m, "v", "t", &v)) < 0) return r;
            if (k == "start") n.start = v;
            if (k == "unit") n.unit = v;
            if (k == "requested") n.requested = v;
        } else {
            return set_errno_error(error, EINVAL, "unknown option '" + k + "'");
        }
        if ((r = sd_bus_message_exit_container(m)) < 0) return r;
    }
    if (r < 0) return r;
    return sd_bus_message_exit_container(m);
}

int method_add_device(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    const char* kind = nullptr;
    int32_t node = 0;
    hotplug::NewDevice n;
    if (int r = sd_bus_message_read(m, "sit", &kind, &node, &n.size); r < 0) return r;
    if (int r = read_device_options(m, n, error); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    const std::string k = kind;
    if (k != "dimm" && k != "virtio-mem")
        return set_errno_error(error, EINVAL, "device kind '" + k + "' (dimm or virtio-mem)");
    n.kind = k == "dimm" ? hotplug::DeviceKind::Dimm : hotplug::DeviceKind::VirtioMem;
    n.node = node;
    const Backend& b = backend_of(userdata);
    return b.defer(m, [&b, n]() mutable {
        std::string why;
        const long r = b.apply([&](hotplug::Machine& mach) {
            if (n.name.empty()) n.name = mach.free_device_name(n.kind);
            hotplug::Outcome o = mach.create_device(n);
            why = o.error.message;
            return o;
        });
        MethodResult res = MethodResult::of(r, why);
        if (!res.error) res.value = n.name;
        return res;
    });
}

int method_set_block_fault(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    uint64_t block = 0;
    int unmovable = 0;
    int64_t migration_ms = 0;
    if (int r = sd_bus_message_read(m, "tbx", &block, &unmovable, &migration_ms); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    return reply_apply(m, backend_of(userdata), "memory" + std::to_string(block),
                       [=](hotplug::Machine& mach) {
                           return mach.set_block_fault(block, hotplug::BlockFault{migration_ms, 0},
                                                       unmovable != 0);
                       });
}

int method_set_notifier_error(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    const char* action = nullptr;
    int32_t errnum = 0;
    if (int r = sd_bus_message_read(m, "si", &action, &errnum); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    const std::string a = action;
    if (a != "MEM_GOING_ONLINE" && a != "MEM_GOING_OFFLINE")
        return set_errno_error(error, EINVAL, "notifier action '" + a + "'");
    // The debugfs file takes the negative errno the notifier returns (0 disarms).
    const std::string path = "kernel/debug/notifier-error-inject/memory/actions/" + a + "/error";
    return reply_write(m, backend_of(userdata), path, std::to_string(-std::abs(errnum)));
}

int method_poison_page(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    uint64_t address = 0;
    int hard = 0;
    if (int r = sd_bus_message_read(m, "tb", &address, &hard); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    const std::string file = hard ? "hard_offline_page" : "soft_offline_page";
    return reply_write(m, backend_of(userdata), std::string(kMem) + file, hex(address));
}

// Save and Load: an absolute path (the daemon's working directory is not the caller's), and
// only for those who may change the machine.
int read_state_file_argument(sd_bus_message* m, sd_bus_error* error, std::string& out) {
    const char* file = nullptr;
    if (int r = sd_bus_message_read(m, "s", &file); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    if (file[0] != '/')
        return set_errno_error(error, EINVAL, std::string(file) + ": not an absolute path");
    out = file;
    return 0;
}

int method_save(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    std::string file;
    if (int r = read_state_file_argument(m, error, file); r < 0) return r;
    const Backend& b = backend_of(userdata);
    return b.defer(m, [&b, path = std::move(file)] {
        MethodResult res;
        res.message = b.save(path);
        if (!res.message.empty()) res.error = EIO;
        return res;
    });
}

int method_load(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    std::string file;
    if (int r = read_state_file_argument(m, error, file); r < 0) return r;
    const Backend& b = backend_of(userdata);
    return b.defer(m, [&b, path = std::move(file)] {
        MethodResult res;
        if (const int r = b.load(path, res.message); r < 0) res.error = -r;
        return res;
    });
}

int method_get_state(sd_bus_message* m, void* userdata, sd_bus_error*) {
    test_fault::check("GetState");
    return sd_bus_reply_method_return(m, "s", state_json(backend_of(userdata)).c_str());
}

// --- Manager1 properties -------------------------------------------------------------------------
int property_manager(sd_bus* /*bus*/, const char* /*path*/, const char* /*interface*/,
                     const char* property, sd_bus_message* reply, void* userdata,
                     sd_bus_error* /*error*/) {
    if (std::strcmp(property, "EventLogState") == 0) {  // not the machine's: no read lock
        const Backend& b = backend_of(userdata);
        return sd_bus_message_append(reply, "s",
                                     b.event_log_state ? b.event_log_state().c_str() : "off");
    }
    return backend_of(userdata).live.read([&](const hotplug::Machine& mach, const fsmodel::Tree&) {
        const std::string p = property;
        if (p == "BlockSize") return sd_bus_message_append(reply, "t", mach.block_size());
        if (p == "Seqnum") return sd_bus_message_append(reply, "t", mach.last_seqnum());
        if (p == "Blocks") return sd_bus_message_append(reply, "t", mach.blocks().count());
        if (p == "Architecture")
            return sd_bus_message_append(reply, "s",
                                         std::string(hotplug::arch_name(mach.arch())).c_str());
        return -ENOENT;
    });
}

const hotplug::ParamSpec* param_of_property(std::string_view property) {
    for (const hotplug::ParamSpec& param : hotplug::param_table())
        if (!param.dbus.empty() && param.dbus == property) return &param;
    return nullptr;
}

// A parameter's property: its row is the one whose `dbus` is the property's name.
int property_param(sd_bus* /*bus*/, const char* /*path*/, const char* /*interface*/,
                   const char* property, sd_bus_message* reply, void* userdata,
                   sd_bus_error* /*error*/) {
    const hotplug::ParamSpec* param = param_of_property(property);
    if (!param) return -ENOENT;
    const uint64_t value = backend_of(userdata).live.read(
        [&](const hotplug::Machine& mach, const fsmodel::Tree&) {
            return param->get(mach.params()).value_or(0);
        });
    switch (param->kind) {
        case hotplug::ParamKind::Word:
            return sd_bus_message_append(reply, "s", std::string(param->word(value)).c_str());
        case hotplug::ParamKind::Uint:
            return sd_bus_message_append(reply, "u", static_cast<uint32_t>(value));
        case hotplug::ParamKind::Bool:
        case hotplug::ParamKind::OptionalBool: break;
    }
    return sd_bus_message_append(reply, "b", value ? 1 : 0);
}

const char* property_signature(const hotplug::ParamSpec& param) {
    switch (param.kind) {
        case hotplug::ParamKind::Word: return "s";
        case hotplug::ParamKind::Uint: return "u";
        case hotplug::ParamKind::Bool:
        case hotplug::ParamKind::OptionalBool: break;
    }
    return "b";
}

// The Manager1 vtable is these fixed properties, then a property for each parameter row that
// names one, then kManagerMembers.
const sd_bus_vtable kManagerProperties[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Architecture", "s", guarded<property_manager>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("BlockSize", "t", guarded<property_manager>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Blocks", "t", guarded<property_manager>, 0, 0),
    SD_BUS_PROPERTY("Seqnum", "t", guarded<property_manager>, 0, 0),
    SD_BUS_PROPERTY("EventLogState", "s", guarded<property_manager>, 0, 0),
};

const sd_bus_vtable kManagerMembers[] = {
    SD_BUS_METHOD_WITH_NAMES("Probe", "t", SD_BUS_PARAM(address), "", , guarded<method_probe>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Online", "ts", SD_BUS_PARAM(block) SD_BUS_PARAM(type), "", ,
                             guarded<method_online>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Offline", "t", SD_BUS_PARAM(block), "", , guarded<method_offline>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("SetParameter", "ss", SD_BUS_PARAM(name) SD_BUS_PARAM(value), "", ,
                             guarded<method_set_parameter>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("PlugDevice", "s", SD_BUS_PARAM(name), "", , guarded<method_plug_device>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES(
        "AddDevice", "sita{sv}",
        SD_BUS_PARAM(kind) SD_BUS_PARAM(node) SD_BUS_PARAM(size) SD_BUS_PARAM(options), "s",
        SD_BUS_PARAM(name), guarded<method_add_device>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("UnplugDevice", "s", SD_BUS_PARAM(name), "", , guarded<method_unplug_device>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ResizeDevice", "st", SD_BUS_PARAM(name) SD_BUS_PARAM(size), "", ,
                             guarded<method_resize_device>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("SetBlockFault", "tbx",
                             SD_BUS_PARAM(block) SD_BUS_PARAM(unmovable) SD_BUS_PARAM(migration_ms),
                             "", , guarded<method_set_block_fault>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("SetNotifierError", "si", SD_BUS_PARAM(action) SD_BUS_PARAM(errno), "",
                             , guarded<method_set_notifier_error>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("PoisonPage", "tb", SD_BUS_PARAM(address) SD_BUS_PARAM(hard), "", ,
                             guarded<method_poison_page>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("GetState", "", , "s", SD_BUS_PARAM(json), guarded<method_get_state>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Save", "s", SD_BUS_PARAM(file), "", , guarded<method_save>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Load", "s", SD_BUS_PARAM(file), "", , guarded<method_load>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_NAMES("Uevent", "tsssa{ss}",
                             SD_BUS_PARAM(seqnum) SD_BUS_PARAM(action) SD_BUS_PARAM(devpath)
                                 SD_BUS_PARAM(subsystem) SD_BUS_PARAM(properties),
                             0),
    SD_BUS_SIGNAL_WITH_NAMES("DeviceChanged", "st", SD_BUS_PARAM(name) SD_BUS_PARAM(plugged), 0),
    SD_BUS_VTABLE_END};

}  // namespace

const sd_bus_vtable* manager_vtable() {
    static const std::vector<sd_bus_vtable> vtable = [] {
        std::vector<sd_bus_vtable> v(std::begin(kManagerProperties), std::end(kManagerProperties));
        for (const hotplug::ParamSpec& param : hotplug::param_table())
            if (!param.dbus.empty())  // a literal, so data() is a C string
                v.push_back(SD_BUS_PROPERTY(param.dbus.data(), property_signature(param),
                                            guarded<property_param>, 0,
                                            SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE));
        v.insert(v.end(), std::begin(kManagerMembers), std::end(kManagerMembers));
        return v;
    }();
    return vtable.data();
}

std::vector<const char*> changed_parameter_properties(const hotplug::Params& before,
                                                      const hotplug::Params& after) {
    std::vector<const char*> names;
    for (const hotplug::ParamSpec& param : hotplug::param_table())
        if (!param.dbus.empty() && param.get(before) != param.get(after))
            names.push_back(param.dbus.data());
    return names;
}

int add_block_objects(sd_bus* bus, Backend& backend);   // block_objects.cpp
int add_device_objects(sd_bus* bus, Backend& backend);  // block_objects.cpp

int add_objects(sd_bus* bus, Backend& backend) {
    int r = sd_bus_add_object_vtable(bus, nullptr, kManagerPath, kManagerInterface, manager_vtable(),
                                     &backend);
    if (r < 0) return r;
    if ((r = add_block_objects(bus, backend)) < 0) return r;
    return add_device_objects(bus, backend);
}

}  // namespace hotplugfs::bus
