// The launch plan: the part of a Plan that cell-launch executes, and its
// serialized form. `cell` hands it to the launcher in memory; a wrapper that
// `cellgen --print script` writes carries it as JSON (`--print plan`) and
// hands it to cell-launch on an fd. One reader, one executor: the wrapper and
// `cell` run the same code. Runtime paths stay tagged ({"rt": REL}) until the
// launcher has made the runtime dir, so no text is ever substituted.
#pragma once

#include "cellgen/arg.hpp"
#include "cellgen/plan.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cellgen {

struct LaunchDaemon {
    std::string name;
    Args argv;                              // the launcher appends --ready-fd 3 --lifeline-fd 4
    std::string mode;                       // "on" | "auto"
    std::optional<std::string> needs;       // host socket that must exist first
    std::optional<JailListen> jail_listen;  // handed to it as fd kJailListenFd
    std::optional<std::string> access_log;  // a file in the log dir, handed as fd kAccessLogFd
    std::optional<std::string> refusal_log; // likewise, emptied at start, as fd kRefusalLogFd
    bool operator==(const LaunchDaemon&) const = default;
};

struct LaunchPlan {
    std::string version;                    // cellgen's, for messages
    std::string bwrap;                      // absolute path
    Args bwrap_args;                        // options only
    std::vector<std::string> command;       // after bwrap's `--`; the caller's args follow
    std::vector<RequiredDir> required_dirs; // checked before anything is created
    std::vector<ForwardedEnv> forwarded_env;
    std::vector<std::string> runtime_dirs; // relative to the runtime dir
    std::vector<RuntimeFile> runtime_files;
    std::vector<std::string> private_devices;
    long max_procs = 0; // RLIMIT_NPROC on bwrap; 0: none
    Arg log_dir = RuntimePath{"log"};
    std::vector<LaunchDaemon> daemons;
    std::vector<std::string> notices; // said on stderr as the cell starts
    bool operator==(const LaunchPlan&) const = default;
};

LaunchPlan launch_plan(const Plan& plan, std::string version);

// One line of JSON (no newline inside): what --print plan writes.
std::string launch_plan_json(const LaunchPlan& plan);

class PlanError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The format's version (`cell_launch_plan`): a wrapper and its cell-launch
// come from one build, and a reader refuses any other version.
inline constexpr int kLaunchPlanVersion = 3;

// Parses what launch_plan_json wrote; throws PlanError naming the field.
LaunchPlan parse_launch_plan(std::string_view text);

} // namespace cellgen
