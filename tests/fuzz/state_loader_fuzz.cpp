// libFuzzer target: arbitrary bytes as a state file (--state, D-Bus Load), decoded and then
// restored onto each machine the seed corpus was written by. Refusals are fine; a crash, a
// sanitizer report, a hang or a restored machine whose state does not read back is not.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config_loader.h"
#include "hotplug/machine.h"
#include "hotplug/spec.h"
#include "persist/state_file.h"

namespace {

using namespace hotplugfs;

hotplug::MachineSpec example_spec(const char* name) {
    const std::string path = std::string(HOTPLUGFS_SOURCE_DIR) + "/examples/" + name;
    auto loaded = config::load_config_file(path);
    if (auto* error = std::get_if<config::ConfigError>(&loaded)) {
        std::fprintf(stderr, "state-loader-fuzz: %s\n", error->message().c_str());
        std::abort();  // no machine to restore onto: the target itself is broken
    }
    return std::get<hotplug::MachineSpec>(loaded);
}

// The machines of tests/fuzz/state-corpus: the built-in one and two examples.
const std::vector<hotplug::MachineSpec>& machines() {
    static const std::vector<hotplug::MachineSpec> specs = {hotplug::default_machine_spec(),
                                                            example_spec("devices.json"),
                                                            example_spec("failures.json")};
    return specs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto decoded = persist::decode(text, "fuzz.json");
    if (auto* error = std::get_if<persist::StateError>(&decoded))
        return error->message().empty() ? 1 : 0;  // every refusal says why
    const auto& state = std::get<hotplug::MachineSnapshot>(decoded);
    for (const hotplug::MachineSpec& spec : machines()) {
        auto restored = hotplug::Machine::restore(spec, state);
        if (!restored) continue;
        // What the daemon would write of the restored machine, it reads back unchanged.
        const hotplug::MachineSnapshot again = restored.value().snapshot();
        auto back = persist::decode(persist::encode(again), "again.json");
        const auto* reread = std::get_if<hotplug::MachineSnapshot>(&back);
        if (!reread || !(*reread == again)) {
            if (auto* error = std::get_if<persist::StateError>(&back))
                std::fprintf(stderr, "state-loader-fuzz: %s\n", error->message().c_str());
            std::abort();
        }
    }
    return 0;
}
