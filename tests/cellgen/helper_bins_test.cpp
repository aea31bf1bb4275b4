// Helper lookup: next to cellgen, then ../libexec/unsafe-cell (installed),
// then the build tree, then PATH.
#include "tests/cellgen/plan_fixture.hpp"

#include "cellgen/helper_bins.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

namespace {

void make_exe(const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << "#!/bin/sh\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
}

} // namespace

TEST_CASE("find_helper: next to cellgen, then ../FOLDER/NAME, then PATH") {
    cellgen_test::TempDir dir;
    const auto self = dir.path + "/build/cellgen";
    std::filesystem::create_directories(self);
    const std::string path_env = "relative/bin:" + dir.path + "/pathbin";
    CHECK_FALSE(cellgen::find_helper("relay", self, path_env));
    make_exe(dir.path + "/pathbin/relay");
    CHECK(cellgen::find_helper("relay", self, path_env) == dir.path + "/pathbin/relay");
    make_exe(dir.path + "/build/relay/relay");
    CHECK(cellgen::find_helper("relay", self, path_env) == dir.path + "/build/relay/relay");
    make_exe(self + "/relay");
    CHECK(cellgen::find_helper("relay", self, path_env) == self + "/relay");
    // A directory or a non-executable file is not a helper.
    std::filesystem::create_directories(dir.path + "/pathbin/proxy");
    std::ofstream(dir.path + "/build/proxy") << "";
    CHECK_FALSE(cellgen::find_helper("proxy", self, path_env));
    // The launcher's programs are built in build/launch/.
    CHECK_FALSE(cellgen::find_sibling("cell-launch", self));
    make_exe(dir.path + "/build/launch/cell-launch");
    CHECK(cellgen::find_helper("cell-launch", self, path_env) ==
          dir.path + "/build/launch/cell-launch");
    make_exe(dir.path + "/build/cellgen/cellgen");
    CHECK(cellgen::find_sibling("cellgen", dir.path + "/build/launch") ==
          dir.path + "/build/cellgen/cellgen");
}

TEST_CASE("find_helper: installed, the helpers are in ../libexec/unsafe-cell") {
    cellgen_test::TempDir dir;
    const auto bin = dir.path + "/usr/local/bin";
    std::filesystem::create_directories(bin);
    for (const char* name : {"relay", "proxy", "cell-launch"}) {
        CHECK_FALSE(cellgen::find_sibling(name, bin));
        make_exe(dir.path + "/usr/local/libexec/unsafe-cell/" + name);
        CHECK(cellgen::find_helper(name, bin, std::nullopt) ==
              dir.path + "/usr/local/libexec/unsafe-cell/" + name);
    }
}

TEST_CASE("the plan names helpers by absolute path; overrides win") {
    cellgen_test::Fixture f;
    auto r = f.cli({"--relay-bin", "tools/relay", "--proxy-bin", "/opt/proxy", "--print", "json"});
    REQUIRE(r.status == 0);
    auto cwd = std::filesystem::current_path().string();
    CHECK(r.out.find("\"" + cwd + "/tools/relay\"") != std::string::npos);
    CHECK(r.out.find("\"/opt/proxy\"") != std::string::npos);
    auto missing = f.cli({"--proxy-bin", "/opt/proxy"});
    CHECK(missing.status == 2);
    CHECK(missing.err.find("--relay-bin") != std::string::npos);
}
