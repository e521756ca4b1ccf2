// The state file's JSON: what encode writes, decode reads back unchanged; what is wrong is
// reported at its JSON Pointer.
#include <catch2/catch.hpp>

#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "persist/state_file.h"

using namespace hotplugfs;

namespace {

hotplug::MachineSnapshot varied_snapshot() {
    hotplug::MachineSpec spec = hotplug::default_machine_spec();
    spec.devices = {hotplug::DeviceSpec{"dimm0", hotplug::DeviceKind::Dimm, 0, 17ull << 30,
                                        1ull << 30, 0, 0}};
    spec.params.memory_failure = true;
    spec.params.crash_hotplug = true;
    spec.holes = {3};
    auto m = std::move(hotplug::Machine::build(spec).value());
    REQUIRE(m.set_state(72, hotplug::OnlineType::OnlineMovable).ok());
    REQUIRE(m.plug_device("dimm0").ok());
    REQUIRE(m.set_block_fault(40, hotplug::BlockFault{-1, 0}, true).ok());
    REQUIRE(m.hard_offline_page((72ull << 27) + 4096).ok());
    REQUIRE(m.set_notifier_error(hotplug::NotifierAction::GoingOnline, -12).ok());
    REQUIRE(m.set_online_policy(hotplug::OnlinePolicy::AutoMovable).ok());
    REQUIRE(m.set_demotion_enabled(true).ok());
    return m.snapshot();
}

persist::StateError decode_error(const std::string& text) {
    auto r = persist::decode(text, "s.json");
    REQUIRE(std::holds_alternative<persist::StateError>(r));
    return std::get<persist::StateError>(r);
}

}  // namespace

TEST_CASE("decode reads back what encode wrote", "[state]") {
    const hotplug::MachineSnapshot snap = varied_snapshot();
    const std::string text = persist::encode(snap);
    auto back = persist::decode(text, "s.json");
    REQUIRE(std::holds_alternative<hotplug::MachineSnapshot>(back));
    CHECK(std::get<hotplug::MachineSnapshot>(back) == snap);
    CHECK(nlohmann::json::parse(text)["format"] == persist::kFormat);
}

TEST_CASE("a bad state document is reported where it is wrong", "[state]") {
    const std::string good = persist::encode(varied_snapshot());
    auto edited = [&](const char* pointer, nlohmann::json value) {
        auto doc = nlohmann::json::parse(good);
        doc[nlohmann::json::json_pointer(pointer)] = std::move(value);
        return doc.dump();
    };
    CHECK(decode_error(good.substr(0, good.size() / 2)).json_path.starts_with("line "));
    CHECK(decode_error("").reason.starts_with("not valid JSON"));
    CHECK(decode_error(edited("/format", 2)).json_path == "/format");
    CHECK(decode_error(edited("/format", "1")).json_path == "/format");
    CHECK(decode_error(edited("/blocks/2/state", "half")).json_path == "/blocks/2/state");
    CHECK(decode_error(edited("/blocks/2/count", -1)).json_path == "/blocks/2/count");
    CHECK(decode_error(edited("/params/probe", 1)).json_path == "/params/probe");
    CHECK(decode_error(edited("/faults/going_online_error", 1.5)).json_path ==
          "/faults/going_online_error");
    CHECK(decode_error(edited("/faults/migration/0/ms", -2)).json_path ==
          "/faults/migration/0/ms");
    CHECK(decode_error(edited("/extra", true)).json_path == "/extra");
    CHECK(decode_error(edited("/demotion_enabled", "yes")).json_path == "/demotion_enabled");
    auto doc = nlohmann::json::parse(good);
    doc.erase("seqnum");
    CHECK(decode_error(doc.dump()).reason == "missing required key \"seqnum\"");
    const auto e = decode_error(edited("/arch", "vax"));
    CHECK(e.message().starts_with("s.json: /arch: unknown value \"vax\""));
}

TEST_CASE("demotion_enabled is kept, and a file written without it reads false", "[state]") {
    const hotplug::MachineSnapshot snap = varied_snapshot();
    REQUIRE(snap.demotion_enabled);
    auto doc = nlohmann::json::parse(persist::encode(snap));
    CHECK(doc["demotion_enabled"] == true);
    doc.erase("demotion_enabled");  // as format 1 files were written before it was kept
    auto back = persist::decode(doc.dump(), "s.json");
    REQUIRE(std::holds_alternative<hotplug::MachineSnapshot>(back));
    const auto& old = std::get<hotplug::MachineSnapshot>(back);
    CHECK_FALSE(old.demotion_enabled);
    hotplug::MachineSnapshot expected = snap;
    expected.demotion_enabled = false;
    CHECK(old == expected);
}
