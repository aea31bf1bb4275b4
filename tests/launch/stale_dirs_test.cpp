// The sweep of runtime dirs a killed launcher left: only dirs named like
// runtime dirs, old enough, ours and unlocked go; the cell's own dir, a
// locked one (a live cell), a young one and any other name stay.
#include "launch/stale_dirs.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct TempDir {
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "stale-test.XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string path;
};

std::string make_dir(const std::string& parent, const std::string& name, bool old) {
    auto path = parent + "/" + name;
    fs::create_directory(path);
    if (old) {
        fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::hours(1));
    }
    return path;
}

} // namespace

TEST_CASE("stale runtime dirs: which the sweep removes", "[stale_dirs]") {
    TempDir tmp;
    auto own = make_dir(tmp.path, "cell-0000000000000000", true);
    struct Case {
        std::string name;
        bool old;
        bool locked;
        bool removed;
    };
    const std::vector<Case> cases{
        {"cell-00000000000000a1", true, false, true},   // abandoned
        {"cell-00000000000000a2", true, true, false},   // a live cell holds it
        {"cell-00000000000000a3", false, false, false}, // just made: its lock may follow
        {"cell.00000000000000a4", true, false, false},  // an older launcher's name
        {"cell-00000000000000g5", true, false, false},  // not hex
        {"cell-00000000000000a", true, false, false},   // 15 digits
        {"other", true, false, false},
    };
    std::vector<launch::Fd> locks;
    for (const auto& c : cases) {
        auto path = make_dir(tmp.path, c.name, c.old);
        if (c.locked) {
            locks.push_back(launch::lock_runtime_dir(path));
        }
    }
    auto removed = launch::sweep_stale_runtime_dirs(own, std::chrono::seconds(30));
    for (const auto& c : cases) {
        INFO(c.name);
        bool gone = !fs::exists(tmp.path + "/" + c.name);
        CHECK(gone == c.removed);
        bool listed =
            std::find(removed.begin(), removed.end(), tmp.path + "/" + c.name) != removed.end();
        CHECK(listed == c.removed);
    }
    CHECK(fs::exists(own));
}
