// load_rules over temporary directories: ordering, overriding, masking, unreadable files.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "fake_device.h"

using namespace udevtest;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "udev-rules-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
    std::string dir(const std::string& name) const {
        fs::create_directories(path / name);
        return (path / name).string();
    }
};

void write(const std::string& dir, const std::string& name, const std::string& text) {
    std::ofstream(fs::path(dir) / name) << text;
}

std::vector<std::string> file_names(const RuleSet& rules) {
    std::vector<std::string> names;
    for (const auto& f : rules.files()) names.push_back(fs::path(f.path).filename().string());
    return names;
}

}  // namespace

TEST_CASE("rules files load in lexical order over all directories", "[udev][load]") {
    TempDir t;
    std::string lib = t.dir("lib"), etc = t.dir("etc");
    write(lib, "50-b.rules", "ENV{ORDER}+=\"lib50\"\n");
    write(lib, "10-a.rules", "ENV{ORDER}+=\"lib10\"\n");
    write(etc, "20-c.rules", "ENV{ORDER}+=\"etc20\"\n");
    write(etc, "50-b.rules", "ENV{ORDER}+=\"etc50\"\n");
    write(etc, "README", "not rules\n");
    write(etc, ".hidden.rules", "ENV{ORDER}+=\"hidden\"\n");
    fs::create_directories(fs::path(etc) / "dir.rules");
    RuleSet rules = load_rules({lib, etc, (t.path / "missing").string()});
    CHECK(file_names(rules) == std::vector<std::string>{"10-a.rules", "20-c.rules", "50-b.rules"});
    CHECK(rules.files()[2].path == etc + "/50-b.rules");
    CHECK(rules.errors().empty());
    FakeDevice dev = memory_machine();
    CHECK(prop(apply_rules(rules, memory_event(), dev), "ORDER") == "lib10 etc20 etc50");
}

TEST_CASE("a symlink to /dev/null masks a name; other symlinks are read", "[udev][load]") {
    TempDir t;
    std::string lib = t.dir("lib"), etc = t.dir("etc");
    write(lib, "40-online.rules", "ENV{X}=\"lib\"\n");
    write(lib, "60-other.rules", "ENV{Y}=\"other\"\n");
    fs::create_symlink("/dev/null", fs::path(etc) / "40-online.rules");
    fs::create_symlink(fs::path(lib) / "60-other.rules", fs::path(etc) / "70-link.rules");
    RuleSet rules = load_rules({lib, etc});
    CHECK(file_names(rules) == std::vector<std::string>{"60-other.rules", "70-link.rules"});
}

TEST_CASE("an unreadable rules file is an error at line 0", "[udev][load]") {
    TempDir t;
    std::string etc = t.dir("etc");
    write(etc, "10-ok.rules", "ENV{X}=\"1\"\n");
    fs::create_symlink(fs::path(etc) / "nonexistent", fs::path(etc) / "20-dangling.rules");
    write(etc, "30-bad.rules", "BOGUS=\"1\"\n");
    RuleSet rules = load_rules({etc});
    REQUIRE(rules.errors().size() == 2);
    CHECK(rules.errors()[0].file == etc + "/20-dangling.rules");
    CHECK(rules.errors()[0].line == 0);
    CHECK(rules.errors()[1].file == etc + "/30-bad.rules");
    CHECK(rules.errors()[1].line == 1);
    CHECK(rules.rule_lines() == 1);
}
