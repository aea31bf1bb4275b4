// Renderers: the shell output parsed back by bash is the argv output; the
// script's here-document is the launch plan.
#include "tests/cellgen/plan_fixture.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using cellgen_test::Fixture;
using cellgen_test::inv;
using Strings = std::vector<std::string>;

namespace {

// --print shell without its leading "# " policy lines.
std::string command_line(const std::string& shell) {
    std::size_t at = 0;
    while (shell.compare(at, 2, "# ") == 0) {
        at = shell.find('\n', at) + 1;
    }
    return shell.substr(at);
}

const Strings kNasty{
    "a b",      "it's",      "$HOME `x` \"q\" \\", "line1\nline2", "héllo ✓ 日本",        "",
    "!bang",    "tab\there", "*glob?[a]",          "~tilde",       "semi;colon&amp|pipe", "'",
    "--dashes", "a=b"};

cellgen::Plan nasty_plan(const Fixture& f) {
    std::vector<cellgen::Invocation> invs{inv("base"), inv("proxy"), inv("nix-daemon"),
                                          inv("log-dir")};
    for (std::size_t i = 0; i < kNasty.size(); ++i) {
        std::string name = "V";
        name += std::to_string(i); // not "V" + ...: GCC 12's -Wrestrict misfires
        invs.push_back(inv("set-env", {name, kNasty[i]}));
    }
    invs.push_back(inv("raw-arg", {"--bogus 'x' $y"}));
    return f.plan(invs, kNasty);
}

std::string argv_nul(const cellgen::Plan& plan, const std::string& rt) {
    return cellgen::render_argv(plan, {rt, true, "test"});
}

} // namespace

TEST_CASE("argv: one per line, or NUL-separated with -0") {
    Fixture f;
    f.settings.tmpfs_size = 0; // no --size: the shortest argv
    auto plan = f.plan({inv("tmpfs", {"/x"})}, {"echo", "hi"});
    CHECK(cellgen::render_argv(plan, {"/rt", false, "t"}) ==
          "/usr/bin/bwrap\n--tmpfs\n/x\n--\necho\nhi\n");
    CHECK(cellgen::render_argv(plan, {std::nullopt, true, "t"}) ==
          std::string("/usr/bin/bwrap\0--tmpfs\0/x\0--\0echo\0hi\0", 37));
}

TEST_CASE("shell: bash parses it back to the argv, nasty words included") {
    Fixture f;
    auto plan = nasty_plan(f);
    const std::string rt = "/tmp/run time's dir";
    auto shell = cellgen::render_shell(plan, {rt, false, "t"});
    CHECK(std::count(shell.begin(), shell.end(), '\n') >= 1);
    // The policy comments come first; bash reads them as comments.
    REQUIRE(shell.starts_with("# cellgen t: "));
    auto parsed =
        cellgen_test::run_bash("f() { printf '%s\\0' \"$@\"; }\nf " + command_line(shell));
    CHECK(cellgen_test::split_nul(parsed) == cellgen_test::split_nul(argv_nul(plan, rt)));
}

TEST_CASE("shell: without --runtime-dir, \"$CELL_RT\" expands at paste time") {
    Fixture f;
    auto plan = nasty_plan(f);
    auto shell = cellgen::render_shell(plan, {std::nullopt, false, "t"});
    CHECK(shell.find("\"$CELL_RT\"/etc/passwd") != std::string::npos);
    auto parsed = cellgen_test::run_bash("f() { printf '%s\\0' \"$@\"; }\nf " + command_line(shell),
                                         {{"CELL_RT", "/tmp/x y"}});
    CHECK(cellgen_test::split_nul(parsed) == cellgen_test::split_nul(argv_nul(plan, "/tmp/x y")));
    // The argv renderer spells the same paths as literal text.
    CHECK(cellgen::render_argv(plan, {}).find("$CELL_RT/etc/passwd\n") != std::string::npos);
}

TEST_CASE("json: the plan's parts") {
    Fixture f;
    auto plan = nasty_plan(f);
    auto root = boost::json::parse(cellgen::render_json(plan, {"/rt", false, "9.9"})).as_object();
    CHECK(root.at("version").as_int64() == 2);
    CHECK(root.at("bwrap").at("path").as_string() == "/usr/bin/bwrap");
    CHECK(root.at("env").at("V3").as_string() == "line1\nline2");
    CHECK(root.at("env").at("HTTPS_PROXY").as_string() == "http://127.0.0.1:3128");
    const auto& daemons = root.at("daemons").as_array();
    REQUIRE(daemons.size() == 2);
    CHECK(daemons[0].at("name").as_string() == "proxy");
    CHECK(daemons[0].at("ready_socket").is_null());
    CHECK(daemons[0].at("jail_listen") == boost::json::array{"127.0.0.1:3128", "127.0.0.1:1080"});
    CHECK(daemons[1].at("ready_socket").as_string() == "/rt/nix/socket");
    CHECK(daemons[1].at("jail_listen").as_array().empty());
    CHECK(daemons[1].at("name").as_string() == "nix");
    CHECK(daemons[1].at("mode").as_string() == "auto");
    CHECK_FALSE(root.contains("in_jail"));
    CHECK(root.at("logs").at("dir").as_string() == "/rt/log");
    const auto& files = root.at("logs").at("files");
    CHECK(files.at("proxy").as_string() == "/rt/log/proxy.log");
    CHECK(files.at("proxy-access").as_string() == "/rt/log/proxy-access.log");
    CHECK(files.at("nix").as_string() == "/rt/log/nix.log");
    CHECK(files.at("launcher").as_string() == "/rt/log/launcher.log");
    CHECK(root.at("runtime_dir").at("files").at(0).at("path").as_string() == "etc/passwd");
    auto placeholder = boost::json::parse(cellgen::render_json(plan, {})).as_object();
    CHECK(placeholder.at("runtime_dir").at("path").as_string() == "$CELL_RT");
    CHECK(placeholder.at("runtime_dir").at("placeholder").as_bool());
}

TEST_CASE("script: sh -n passes; its here-document is the launch plan") {
    Fixture f;
    auto plan = nasty_plan(f);
    auto script = cellgen::render_script(plan, {std::nullopt, false, "t"});
    CHECK(script.starts_with("#!/bin/sh\n# generated by cellgen t"));
    cellgen_test::TempDir dir;
    std::ofstream(dir.path + "/cell.sh") << script;
    cellgen_test::run_bash("sh -n " + dir.path + "/cell.sh && bash -n " + dir.path + "/cell.sh");
    const std::string exec_line =
        "exec /usr/bin/cell-launch --plan-fd 3 -- \"$@\" 3<<'CELL_PLAN'\n";
    auto at = script.find(exec_line);
    REQUIRE(at != std::string::npos);
    auto body = script.substr(at + exec_line.size());
    REQUIRE(body.ends_with("\nCELL_PLAN\n"));
    body.erase(body.size() - std::string_view("\nCELL_PLAN\n").size());
    CHECK(body.find('\n') == std::string::npos);
    CHECK(cellgen::plan_from_json(body) == cellgen_test::as_read(plan, "t"));
    // What a shell hands cell-launch on fd 3 is that text, byte for byte.
    auto shell_copy = cellgen_test::run_bash(
        "sed 's|^exec /usr/bin/cell-launch --plan-fd 3 -- |exec /bin/sh -c \"cat <\\&3\" |' " +
        dir.path + "/cell.sh >" + dir.path + "/cat.sh && sh " + dir.path + "/cat.sh");
    body += '\n';
    CHECK(shell_copy == body);
}
