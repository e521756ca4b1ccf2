// MemoryBlock1 objects (.../block/memoryN) and MemoryDevice1 objects (.../device/NAME): one
// per present block and configured device, found on demand rather than registered one by one,
// so a million blocks cost nothing until asked for.
#include <cerrno>
#include <cstring>
#include <string>

#include "bus_api/bus_errors.h"
#include "bus/bus_guard.h"
#include "bus_api/bus_names.h"
#include "bus/bus_objects.h"
#include "bus/method_support.h"
#include "hotplug/machine.h"

namespace hotplugfs::bus {
namespace {

// The device name of ".../device/NAME" (names are escaped the way sd-bus escapes labels).
std::string device_name(const char* path) {
    char* label = nullptr;
    std::string out;
    if (sd_bus_path_decode(path, kDevicePrefix, &label) > 0 && label) out = label;
    free(label);  // sd-bus allocated it
    return out;
}

// "memory136" of ".../block/memory136" -> 136.
std::optional<uint64_t> block_of_path(const char* path) {
    const char* slash = std::strrchr(path, '/');
    if (!slash || std::strncmp(slash + 1, "memory", 6) != 0) return std::nullopt;
    const char* digits = slash + 7;
    if (!*digits || (digits[0] == '0' && digits[1])) return std::nullopt;
    uint64_t v = 0;
    for (const char* p = digits; *p; ++p) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10) return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(*p - '0');
    }
    return v;
}

int find_block(sd_bus*, const char* path, const char*, void* userdata, void** found,
               sd_bus_error*) {
    const auto block = block_of_path(path);
    if (!block) return 0;
    const bool present =
        backend_of(userdata).live.read([&](const hotplug::Machine& m, const fsmodel::Tree&) {
            return m.blocks().present(*block);
        });
    if (!present) return 0;
    *found = userdata;
    return 1;
}

int enumerate_blocks(sd_bus*, const char*, void* userdata, char*** nodes, sd_bus_error*) {
    std::vector<std::string> paths =
        backend_of(userdata).live.read([](const hotplug::Machine& m, const fsmodel::Tree&) {
            std::vector<std::string> out;
            for (auto id = m.blocks().next_present(0); id; id = m.blocks().next_present(*id + 1))
                out.push_back(std::string(kBlockPrefix) + "/memory" + std::to_string(*id));
            return out;
        });
    char** list = static_cast<char**>(calloc(paths.size() + 1, sizeof(char*)));
    if (!list) return -ENOMEM;
    for (size_t i = 0; i < paths.size(); ++i) list[i] = strdup(paths[i].c_str());
    *nodes = list;  // sd-bus frees the list and its strings
    return 0;
}

int property_block(sd_bus*, const char* path, const char*, const char* property,
                   sd_bus_message* reply, void* userdata, sd_bus_error* error) {
    const auto block = block_of_path(path);
    if (!block) return set_errno_error(error, ENODEV, path);
    return backend_of(userdata).live.read([&](const hotplug::Machine& m, const fsmodel::Tree&) {
        if (!m.blocks().present(*block)) return set_errno_error(error, ENODEV, path);
        const hotplug::Block& b = m.blocks().at(*block);
        const std::string p = property;
        if (p == "Id") return sd_bus_message_append(reply, "t", *block);
        if (p == "State")
            return sd_bus_message_append(
                reply, "s", std::string(hotplug::block_state_name(b.block_state())).c_str());
        if (p == "ValidZones")
            return sd_bus_message_append(reply, "s", m.valid_zones(*block).c_str());
        if (p == "Node") return sd_bus_message_append(reply, "i", static_cast<int32_t>(b.node));
        if (p == "Start") return sd_bus_message_append(reply, "t", *block * m.block_size());
        return -ENOENT;
    });
}

int block_write(sd_bus_message* m, void* userdata, sd_bus_error* error, const std::string& word) {
    const auto block = block_of_path(sd_bus_message_get_path(m));
    if (!block) return set_errno_error(error, ENODEV, sd_bus_message_get_path(m));
    return reply_write(m, backend_of(userdata), block_path(*block, "state"), word);
}

int method_block_online(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    const char* type = nullptr;
    if (int r = sd_bus_message_read(m, "s", &type); r < 0) return r;
    if (int r = require_admin(m, error); r < 0) return r;
    std::string word;
    if (int r = online_word(type, word, error); r < 0) return r;
    return block_write(m, userdata, error, word);
}

int method_block_offline(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    if (int r = require_admin(m, error); r < 0) return r;
    return block_write(m, userdata, error, "offline");
}

const sd_bus_vtable kBlockVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Id", "t", guarded<property_block>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Start", "t", guarded<property_block>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Node", "i", guarded<property_block>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("State", "s", guarded<property_block>, 0, 0),
    SD_BUS_PROPERTY("ValidZones", "s", guarded<property_block>, 0, 0),
    SD_BUS_METHOD_WITH_NAMES("Online", "s", SD_BUS_PARAM(type), "", , guarded<method_block_online>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Offline", "", "", guarded<method_block_offline>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END};

// --- devices -------------------------------------------------------------------------------------
const hotplug::Device* device_named(const hotplug::Machine& m, const std::string& name) {
    for (const auto& d : m.devices())
        if (d.spec.name == name) return &d;
    return nullptr;
}

int find_device(sd_bus*, const char* path, const char*, void* userdata, void** found,
                sd_bus_error*) {
    const std::string name = device_name(path);
    if (name.empty()) return 0;
    const bool known =
        backend_of(userdata).live.read([&](const hotplug::Machine& m, const fsmodel::Tree&) {
            return device_named(m, name) != nullptr;
        });
    if (!known) return 0;
    *found = userdata;
    return 1;
}

int enumerate_devices(sd_bus*, const char*, void* userdata, char*** nodes, sd_bus_error*) {
    std::vector<std::string> names =
        backend_of(userdata).live.read([](const hotplug::Machine& m, const fsmodel::Tree&) {
            std::vector<std::string> out;
            for (const auto& d : m.devices()) out.push_back(d.spec.name);
            return out;
        });
    char** list = static_cast<char**>(calloc(names.size() + 1, sizeof(char*)));
    if (!list) return -ENOMEM;
    for (size_t i = 0; i < names.size(); ++i)
        sd_bus_path_encode(kDevicePrefix, names[i].c_str(), &list[i]);
    *nodes = list;
    return 0;
}

int property_device(sd_bus*, const char* path, const char*, const char* property,
                    sd_bus_message* reply, void* userdata, sd_bus_error* error) {
    const std::string name = device_name(path);
    return backend_of(userdata).live.read([&](const hotplug::Machine& m, const fsmodel::Tree&) {
        const hotplug::Device* d = device_named(m, name);
        if (!d) return set_errno_error(error, ENODEV, path);
        const std::string p = property;
        if (p == "Name") return sd_bus_message_append(reply, "s", d->spec.name.c_str());
        if (p == "Kind")
            return sd_bus_message_append(
                reply, "s", std::string(hotplug::device_kind_name(d->spec.kind)).c_str());
        if (p == "Node")
            return sd_bus_message_append(reply, "i", static_cast<int32_t>(d->spec.node));
        if (p == "Start") return sd_bus_message_append(reply, "t", d->spec.start);
        if (p == "Size") return sd_bus_message_append(reply, "t", d->spec.size);
        if (p == "Unit") return sd_bus_message_append(reply, "t", d->spec.unit);
        if (p == "Plugged") return sd_bus_message_append(reply, "t", d->plugged);
        return -ENOENT;
    });
}

int device_resize(sd_bus_message* m, void* userdata, sd_bus_error* error,
                  std::optional<uint64_t> bytes) {
    if (int r = require_admin(m, error); r < 0) return r;
    const std::string name = device_name(sd_bus_message_get_path(m));
    return device_write(m, error, backend_of(userdata), name.c_str(), bytes);
}

int method_device_plug(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return device_resize(m, userdata, error, std::nullopt);
}
int method_device_unplug(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    if (int r = require_admin(m, error); r < 0) return r;
    const std::string name = device_name(sd_bus_message_get_path(m));
    return device_unplug(m, error, backend_of(userdata), name.c_str());
}
int method_device_resize(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    uint64_t size = 0;
    if (int r = sd_bus_message_read(m, "t", &size); r < 0) return r;
    return device_resize(m, userdata, error, size);
}

const sd_bus_vtable kDeviceVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Name", "s", guarded<property_device>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Kind", "s", guarded<property_device>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Node", "i", guarded<property_device>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Start", "t", guarded<property_device>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Size", "t", guarded<property_device>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Unit", "t", guarded<property_device>, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Plugged", "t", guarded<property_device>, 0, 0),
    SD_BUS_METHOD("Plug", "", "", guarded<method_device_plug>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Unplug", "", "", guarded<method_device_unplug>, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Resize", "t", SD_BUS_PARAM(size), "", , guarded<method_device_resize>,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END};

}  // namespace

int add_block_objects(sd_bus* bus, Backend& backend) {
    int r = sd_bus_add_fallback_vtable(bus, nullptr, kBlockPrefix, kBlockInterface, kBlockVtable,
                                       guarded<find_block>, &backend);
    if (r < 0) return r;
    return sd_bus_add_node_enumerator(bus, nullptr, kBlockPrefix, guarded<enumerate_blocks>, &backend);
}

int add_device_objects(sd_bus* bus, Backend& backend) {
    int r = sd_bus_add_fallback_vtable(bus, nullptr, kDevicePrefix, kDeviceInterface, kDeviceVtable,
                                       guarded<find_device>, &backend);
    if (r < 0) return r;
    return sd_bus_add_node_enumerator(bus, nullptr, kDevicePrefix, guarded<enumerate_devices>, &backend);
}

}  // namespace hotplugfs::bus
