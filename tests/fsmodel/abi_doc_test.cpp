// docs/abi.md lists exactly the emulated tree: every path pattern with its kind and mode.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fsmodel_support.h"

#ifndef HOTPLUGFS_SOURCE_DIR
#error "HOTPLUGFS_SOURCE_DIR must name the source tree"
#endif

using namespace fstest;

namespace {

struct Row {
    std::string kind;  // dir, file, link
    unsigned mode = 0;
    int line = 0;
};

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    const size_t e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

// Table rows "| `path` | kind | mode | read | write |" of the document, by path pattern.
std::map<std::string, Row> read_abi_table(const std::string& file) {
    std::ifstream in(file);
    INFO("reading " << file);
    REQUIRE(in.good());
    std::map<std::string, Row> rows;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.rfind("| `", 0) != 0) continue;
        std::vector<std::string> cells;
        std::stringstream ss(line.substr(1));
        std::string cell;
        while (std::getline(ss, cell, '|')) cells.push_back(trim(cell));
        INFO("docs/abi.md:" << number << ": " << line);
        REQUIRE(cells.size() >= 5);
        const std::string& path = cells[0];
        REQUIRE(path.size() > 2);
        REQUIRE(path.back() == '`');
        Row row{cells[1], 0, number};
        CHECK((row.kind == "dir" || row.kind == "file" || row.kind == "link"));
        REQUIRE(cells[2].size() == 4);
        REQUIRE(cells[2].find_first_not_of("01234567") == std::string::npos);
        row.mode = static_cast<unsigned>(std::stoul(cells[2], nullptr, 8));
        const std::string key = path.substr(1, path.size() - 2);
        const auto [it, fresh] = rows.emplace(key, row);
        if (!fresh) FAIL_CHECK(key << " is listed twice (line " << it->second.line << ")");
    }
    return rows;
}

std::string kind_of(uint32_t mode) {
    if (S_ISDIR(mode)) return "dir";
    if (S_ISLNK(mode)) return "link";
    return "file";
}

}  // namespace

TEST_CASE("docs/abi.md lists every emulated path with its kind and mode", "[abi]") {
    const auto rows = read_abi_table(std::string(HOTPLUGFS_SOURCE_DIR) + "/docs/abi.md");
    REQUIRE_FALSE(rows.empty());

    // Every optional file visible: probe, memory failure, crash_hotplug.
    auto m = build(full_spec());
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    std::map<std::string, fsmodel::Stat> tree;
    for (const auto& [path, st] : walk(t, m)) {
        const std::string pattern = path_pattern(path);
        auto [it, fresh] = tree.emplace(pattern, st);
        if (!fresh) {
            // All instances of one pattern share kind and mode.
            INFO(path);
            CHECK(it->second.mode == st.mode);
        }
    }
    for (const char* optional : {"devices/system/memory/probe",
                                 "devices/system/memory/soft_offline_page",
                                 "devices/system/memory/hard_offline_page",
                                 "devices/system/memory/crash_hotplug"})
        REQUIRE(tree.count(optional) == 1);

    for (const auto& [pattern, st] : tree) {
        INFO("tree has " << pattern);
        const auto it = rows.find(pattern);
        if (it == rows.end()) {
            FAIL_CHECK("missing from docs/abi.md");
            continue;
        }
        INFO("docs/abi.md:" << it->second.line);
        CHECK(it->second.kind == kind_of(st.mode));
        CHECK(it->second.mode == (st.mode & 07777));
    }
    for (const auto& [pattern, row] : rows) {
        INFO("docs/abi.md:" << row.line << " lists " << pattern);
        if (tree.count(pattern) == 0) FAIL_CHECK("the emulated tree has no such path");
    }
}
