// Shared helpers for cellgen unit tests: build a plan from invocations with a
// fixed context (fake-but-absolute helper paths, a controlled environment),
// and run bash on generated text.
#pragma once

#include "cellgen/cli.hpp"
#include "cellgen/plan.hpp"
#include "cellgen/registry.hpp"
#include "cellgen/render.hpp"

#include <map>
#include <string>
#include <vector>

namespace cellgen_test {

struct Fixture {
    std::map<std::string, std::string> env{{"PATH", "/usr/bin:/bin"}, {"TERM", "xterm"}};
    cellgen::Settings settings = [] {
        cellgen::Settings s;
        s.relay_bin = "/opt/cell/relay";
        s.proxy_bin = "/opt/cell/proxy";
        return s;
    }();
    bool defer_caller_env = false; // as for a launcher (`cell`, --print plan|script)

    cellgen::Context context() const;
    cellgen::Plan plan(const std::vector<cellgen::Invocation>& invs,
                       std::vector<std::string> command = {}) const;
    // bwrap options with runtime paths under /rt.
    std::vector<std::string> args(const std::vector<cellgen::Invocation>& invs) const;
    cellgen::CliResult cli(std::vector<std::string> argv) const;
};

cellgen::Invocation inv(std::string name, std::vector<std::string> args = {});

std::vector<std::string> texts(const cellgen::Args& args, const std::string& rt = "/rt");

// Runs `bash -c SCRIPT` with extra environment, returns stdout; fails the test on a
// non-zero exit.
std::string run_bash(const std::string& script, const std::map<std::string, std::string>& env = {});

std::vector<std::string> split_nul(const std::string& text);

// A fresh temporary directory, removed by the destructor.
struct TempDir {
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string path;
};

// What plan_from_json(plan_to_json(p)) gives for a plan from make_plan: the
// front end's version, the log dir always set, and without what the JSON
// leaves out (launch, env).
inline cellgen::Plan as_read(cellgen::Plan plan, std::string version) {
    plan.version = std::move(version);
    plan.log_dir = plan.log_dir_or_runtime();
    plan.launch.clear();
    plan.env.clear();
    return plan;
}

} // namespace cellgen_test
