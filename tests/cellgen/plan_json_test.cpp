// The plan's JSON form: what a wrapper hands cell-launch (`cell` runs the
// same Plan in-process). It round-trips through its JSON, the reader names the field
// at fault, and prepare_dir_only makes the runtime dir the plan describes.
#include "tests/cellgen/plan_fixture.hpp"

#include "cellgen/plan.hpp"
#include "launch/prepare.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using cellgen_test::Fixture;
using cellgen_test::inv;
using Strings = std::vector<std::string>;

namespace {

cellgen::Plan full_plan(Fixture& f) {
    f.defer_caller_env = true;
    auto plan = f.plan({inv("base"), inv("proxy"), inv("nix-daemon"), inv("log-dir"),
                        inv("set-env", {"V", "x\ny \"q\" \\ ✓"}), inv("try-fwd-env", {"TERM"}),
                        inv("fwd-env", {"CELL_T_REQUIRED"})},
                       {"sh", "-c", "echo $1", "a b"});
    return cellgen_test::as_read(plan, "t");
}

std::string error_of(const std::string& text) {
    try {
        cellgen::plan_from_json(text);
    } catch (const cellgen::PlanError& e) {
        return e.what();
    }
    return "(no error)";
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("launch plan: JSON round trip, one line") {
    Fixture f;
    auto lp = full_plan(f);
    REQUIRE(lp.daemons.size() == 2);
    REQUIRE(lp.daemons[0].jail_listen ==
            std::vector<cellgen::JailListen>{{"127.0.0.1", 3128}, {"127.0.0.1", 1080}});
    lp.memory_max = 8ULL << 30; // above 2^32: the JSON keeps every bit
    auto text = cellgen::plan_to_json(lp);
    CHECK(text.find('\n') == std::string::npos);
    CHECK(cellgen::plan_from_json(text) == lp);
}

TEST_CASE("launch plan: paths that are not UTF-8 round-trip") {
    Fixture f;
    auto lp = full_plan(f);
    lp.required_dirs.push_back({"--worktree", "/tmp/w\xe9t"});
    lp.bwrap_args.push_back(std::string("/tmp/w\xe9t"));
    CHECK(cellgen::plan_from_json(cellgen::plan_to_json(lp)) == lp);
}

TEST_CASE("launch plan: cell refuses --runtime-dir (its launcher makes the dir)") {
    Fixture f;
    auto ctx = f.context();
    cellgen::CliEnvironment cli_env{ctx.env, "/nonexistent-cellgen-dir", "test"};
    auto planned = cellgen::plan_cli({"--runtime-dir", "/x", "--nix", "off", "--relay-bin",
                                      "/opt/cell/relay", "--proxy-bin", "/opt/cell/proxy",
                                      "--bwrap-bin", "/usr/bin/bwrap", "--", "true"},
                                     cli_env);
    REQUIRE(std::holds_alternative<cellgen::CliResult>(planned));
    const auto& r = std::get<cellgen::CliResult>(planned);
    CHECK(r.status == 2);
    INFO(r.err);
    CHECK(r.err.starts_with("cell: --runtime-dir: only with --print argv|shell|json"));
}

TEST_CASE("launch plan: the reader names what is wrong") {
    Fixture f;
    auto good = boost::json::parse(cellgen::plan_to_json(full_plan(f))).as_object();
    auto with = [&](const char* key, boost::json::value v) {
        auto o = good;
        o[key] = std::move(v);
        return boost::json::serialize(o);
    };
    CHECK(error_of("{").starts_with("plan: not JSON"));
    CHECK(error_of("[]") == "plan: expected an object");
    auto missing = good;
    missing.erase("bwrap");
    CHECK(error_of(boost::json::serialize(missing)) == "plan: missing field \"bwrap\"");
    CHECK(error_of(with("cell_launch_plan", 1)) ==
          "plan: cell_launch_plan: this cell-launch reads version 7 only (a wrapper and its "
          "cell-launch come from one build: render the wrapper again)");
    CHECK(error_of(with("memory_max", -1)) ==
          "plan.memory_max: expected a whole number from 0 to 1125899906842624");
    CHECK(error_of(with("command", boost::json::array{"a", 3})) ==
          "plan.command[1]: expected a string");
    CHECK(error_of(with("bwrap_args", boost::json::array{boost::json::object{{"rt", "../x"}}})) ==
          "plan.bwrap_args[0].rt: \"../x\" is not a path inside the runtime dir");
    CHECK(error_of(with("runtime_dirs", boost::json::array{"/etc"})) ==
          "\"/etc\" is not a path inside the runtime dir");
    CHECK(error_of(with("bwrap_arg", 1)) == "plan: unknown field \"bwrap_arg\"");
    CHECK(error_of(with("log_dir", boost::json::object{{"rt", "log"}, {"x", 1}})) ==
          "plan.log_dir: unknown field \"x\"");
    auto bad_daemon = good;
    bad_daemon["daemons"].as_array()[0].as_object()["name"] = "../x";
    CHECK(error_of(boost::json::serialize(bad_daemon)) ==
          "plan.daemons: \"../x\" is not a daemon name ([a-z0-9_-])");
    auto listen_at = [&](boost::json::value v) {
        auto o = good;
        o["daemons"].as_array()[0].as_object()["jail_listen"] = boost::json::array{std::move(v)};
        return error_of(boost::json::serialize(o));
    };
    CHECK(listen_at(boost::json::object{{"address", "localhost"}, {"port", 3128}}) ==
          "plan.daemons: jail_listen: \"localhost\" is not an IPv4 address");
    CHECK(listen_at(boost::json::object{{"address", "127.0.0.1"}, {"port", 0}}) ==
          "plan.daemons[0].jail_listen[0].port: expected a whole number from 1 to 65535");
    CHECK(listen_at(boost::json::object{{"address", "127.0.0.1"}}) ==
          "plan.daemons[0].jail_listen[0]: missing field \"port\"");
    // The access log is a name in the log dir the launcher opens itself.
    for (const char* name : {"../etc/passwd", "a/b", "", ".."}) {
        auto o = good;
        o["daemons"].as_array()[0].as_object()["access_log"] = name;
        INFO(name);
        CHECK(error_of(boost::json::serialize(o)).ends_with("is not a file name"));
    }
}

TEST_CASE("launch plan: prepare_dir_only makes the dirs and files, resolves every path") {
    Fixture f;
    auto lp = full_plan(f);
    cellgen_test::TempDir dir;
    const std::string rt = dir.path + "/rt 'q'";
    auto env = [](const std::string& name) -> std::optional<std::string> {
        if (name == "CELL_T_REQUIRED") {
            return "r";
        }
        return std::nullopt;
    };
    auto options = launch::prepare_dir_only(lp, rt, env);
    Strings want = cellgen_test::texts(lp.bwrap_args, rt);
    want.insert(want.end(), {"--setenv", "CELL_T_REQUIRED", "r"});
    CHECK(options == want);
    struct stat st;
    REQUIRE(::stat(rt.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    for (const auto& d : lp.runtime_dirs) {
        CHECK(std::filesystem::is_directory(rt + "/" + d));
    }
    for (const auto& file : lp.runtime_files) {
        CHECK(read_file(rt + "/" + file.rel) == file.content);
    }
    // As root, the private /dev nodes the launcher would make, so that bwrap
    // run by hand on this dir binds the same ones.
    if (::geteuid() == 0) {
        REQUIRE_FALSE(lp.private_devices.empty());
        struct stat null_copy;
        REQUIRE(::stat((rt + "/dev/null").c_str(), &null_copy) == 0);
        CHECK(S_ISCHR(null_copy.st_mode));
    }

    // A required variable that is unset stops it before anything is made.
    auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    const std::string rt2 = dir.path + "/rt2";
    try {
        launch::prepare_dir_only(lp, rt2, none);
        FAIL("no error");
    } catch (const launch::PrepareError& e) {
        CHECK(e.status == 2);
        CHECK(std::string(e.what()) ==
              "--fwd-env: CELL_T_REQUIRED is not set in the caller's environment");
    }
    CHECK(!std::filesystem::exists(rt2));
}
