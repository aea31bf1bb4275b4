// The cellgen program as a function: arguments in, output text and exit status
// out. main.cpp only does I/O; tests call this directly.
#pragma once

#include "cellgen/plan.hpp"
#include "cellgen/settings.hpp"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cellgen {

struct CliEnvironment {
    EnvLookup env;        // the caller's environment (fwd-env, PATH)
    std::string self_dir; // where cellgen runs from (helper lookup)
    std::string version;
};

struct CliResult {
    int status = 0;
    std::string out;
    std::string err;
};

CliResult run_cli(const std::vector<std::string>& args, const CliEnvironment& cli_env);

// What `cell` runs: the plan for args (cellgen's options, `--`, the
// command), or, for --help, --version and usage errors, what to print.
std::variant<Plan, CliResult> plan_cli(const std::vector<std::string>& args,
                                       const CliEnvironment& cli_env);

// Writes a result's err to stderr and out to stdout; returns the exit
// status (1 if stdout could not take it, `program` naming the error).
int emit(const CliResult& result, const char* program);

} // namespace cellgen
