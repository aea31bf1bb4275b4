// Renderers: the shell output parsed back by bash is the argv output; the
// script's cell_plan, sourced by bash, yields the JSON plan.
#include "plan_fixture.hpp"

#include "launcher_text.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using cellgen_test::Fixture;
using cellgen_test::inv;
using Strings = std::vector<std::string>;

namespace {

const Strings kNasty{
    "a b",      "it's",      "$HOME `x` \"q\" \\", "line1\nline2", "héllo ✓ 日本",        "",
    "!bang",    "tab\there", "*glob?[a]",          "~tilde",       "semi;colon&amp|pipe", "'",
    "--dashes", "a=b"};

cellgen::Plan nasty_plan(const Fixture& f) {
    std::vector<cellgen::Invocation> invs{inv("base"), inv("proxy"), inv("nix-daemon"),
                                          inv("log-dir")};
    for (std::size_t i = 0; i < kNasty.size(); ++i) {
        invs.push_back(inv("set-env", {"V" + std::to_string(i), kNasty[i]}));
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
    auto parsed = cellgen_test::run_bash("f() { printf '%s\\0' \"$@\"; }\nf " + shell);
    CHECK(cellgen_test::split_nul(parsed) == cellgen_test::split_nul(argv_nul(plan, rt)));
}

TEST_CASE("shell: without --runtime-dir, \"$CELL_RT\" expands at paste time") {
    Fixture f;
    auto plan = nasty_plan(f);
    auto shell = cellgen::render_shell(plan, {std::nullopt, false, "t"});
    CHECK(shell.find("\"$CELL_RT\"/etc/passwd") != std::string::npos);
    auto parsed = cellgen_test::run_bash("f() { printf '%s\\0' \"$@\"; }\nf " + shell,
                                         {{"CELL_RT", "/tmp/x y"}});
    CHECK(cellgen_test::split_nul(parsed) == cellgen_test::split_nul(argv_nul(plan, "/tmp/x y")));
    // The argv renderer spells the same paths as literal text.
    CHECK(cellgen::render_argv(plan, {}).find("$CELL_RT/etc/passwd\n") != std::string::npos);
}

TEST_CASE("json: the plan's parts") {
    Fixture f;
    auto plan = nasty_plan(f);
    auto root = boost::json::parse(cellgen::render_json(plan, {"/rt", false, "9.9"})).as_object();
    CHECK(root.at("version").as_int64() == 1);
    CHECK(root.at("bwrap").at("path").as_string() == "/usr/bin/bwrap");
    CHECK(root.at("env").at("V3").as_string() == "line1\nline2");
    CHECK(root.at("env").at("HTTPS_PROXY").as_string() == "http://127.0.0.1:3128");
    const auto& daemons = root.at("daemons").as_array();
    REQUIRE(daemons.size() == 2);
    CHECK(daemons[0].at("name").as_string() == "proxy");
    CHECK(daemons[0].at("ready_socket").as_string() == "/rt/proxy/proxy.sock");
    CHECK(daemons[1].at("name").as_string() == "nix");
    CHECK(daemons[1].at("mode").as_string() == "auto");
    CHECK(root.at("in_jail").at(0).at("argv").at(0).as_string() == "/run/cell/bin/relay");
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

namespace {

Strings json_strings(const boost::json::value& v) {
    Strings out;
    for (const auto& s : v.as_array()) {
        out.emplace_back(s.as_string().c_str(), s.as_string().size());
    }
    return out;
}

// Prints the plan variables NUL-separated, one group per line-marker.
const char* kDumpPlan = R"(
cell_plan
dump() { local -n a=$1; printf '%s\0' "${a[@]}"; printf '@@\0'; }
dump CELL_BWRAP_ARGS; dump CELL_COMMAND; dump CELL_DAEMONS
dump CELL_DAEMON_ARGV_proxy; dump CELL_DAEMON_ARGV_nix
printf '%s\0' "$CELL_BWRAP" "$CELL_LOG_DIR" "$CELL_PROXY_LOG" "$CELL_DAEMON_MODE_nix" \
    "$CELL_DAEMON_NEEDS_nix" "$CELL_DAEMON_NEEDS_proxy" "$CELL_DAEMON_MODE_proxy"
)";

std::vector<Strings> groups(const Strings& words) {
    std::vector<Strings> out(1);
    for (const auto& w : words) {
        if (w == "@@") {
            out.emplace_back();
        } else {
            out.back().push_back(w);
        }
    }
    return out;
}

} // namespace

TEST_CASE("script: bash -n passes; cell_plan yields the JSON plan") {
    Fixture f;
    auto plan = nasty_plan(f);
    auto script =
        cellgen::render_script(plan, {std::nullopt, false, "t"}, cellgen::launcher_text());
    CHECK(script.starts_with("#!/usr/bin/env bash\n# generated by cellgen t"));
    CHECK(script.ends_with(std::string(cellgen::launcher_text())));
    cellgen_test::TempDir dir;
    std::ofstream(dir.path + "/cell.sh") << script;
    cellgen_test::run_bash("bash -n " + dir.path + "/cell.sh");

    auto plan_part = script.substr(0, script.size() - cellgen::launcher_text().size());
    const std::string rt = dir.path + "/rt 'q'";
    std::filesystem::create_directory(rt);
    auto out = cellgen_test::run_bash(plan_part + kDumpPlan, {{"CELL_RT", rt}});
    auto g = groups(cellgen_test::split_nul(out));
    REQUIRE(g.size() == 6);

    auto json = boost::json::parse(cellgen::render_json(plan, {rt, false, "t"})).as_object();
    CHECK(g[0] == json_strings(json.at("bwrap").at("args")));
    CHECK(g[1] == json_strings(json.at("bwrap").at("command")));
    CHECK(g[2] == Strings{"proxy", "nix"});
    CHECK(g[3] == json_strings(json.at("daemons").at(0).at("argv")));
    CHECK(g[4] == json_strings(json.at("daemons").at(1).at("argv")));
    CHECK(g[5] == Strings{"/usr/bin/bwrap", rt + "/log", rt + "/log/proxy-access.log", "auto",
                          "/nix/var/nix/daemon-socket/socket", "", "on"});
    for (const auto& d : json.at("runtime_dir").at("dirs").as_array()) {
        CHECK(std::filesystem::is_directory(rt + "/" + std::string(d.as_string())));
    }
    for (const auto& file : json.at("runtime_dir").at("files").as_array()) {
        std::ifstream in(rt + "/" + std::string(file.at("path").as_string()));
        std::stringstream content;
        content << in.rdbuf();
        CHECK(content.str() == std::string(file.at("content").as_string()));
    }
}
