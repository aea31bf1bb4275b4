// The plan: everything the launcher needs to run one cell, already decided,
// and its serialized form. make_plan (plan.cpp) builds it from a Jail; the
// renderers (render_*.cpp) only format it; the launcher (launch/) runs it.
// `cell` hands it to the launcher in memory; a wrapper that `cellgen --print
// script` writes carries it as JSON (`--print plan`, plan_json.cpp) and hands
// it to cell-launch on an fd. One reader, one executor: the wrapper and
// `cell` run the same code. Runtime paths stay tagged ({"rt": REL}) until the
// launcher has made the runtime dir, so no text is ever substituted.
//
// A new field: one member here, plus its line in plan_to_json and
// plan_from_json (unless it is one of the few the JSON leaves out, below).
#pragma once

#include "cellgen/arg.hpp"
#include "cellgen/jail_listen.hpp"
#include "cellgen/settings.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cellgen {

struct Jail;

// A host directory the cell needs (the worktree, a log dir). The launcher
// checks it when the cell starts, not cellgen when it renders: a wrapper
// rendered in a Nix build sandbox names directories that only exist later.
struct RequiredDir {
    std::string what; // the culprit for the message: "--worktree", "FILE:3: worktree"
    std::string path; // absolute
    // --unsafe-allow-system-dir: / or a whole-system directory is taken
    // (validate.hpp check_cell_dir_scope); both cellgen and the launcher check.
    bool system_ok = false;
    // Made (mode 0700, with its missing parents) when absent, instead of an
    // error: a store the cell keeps, like --containers' image store.
    bool make = false;
    bool operator==(const RequiredDir&) const = default;
};

// A variable the launcher copies from its caller's environment when the
// cell starts (fwd-env/try-fwd-env in a --print script plan).
struct ForwardedEnv {
    std::string name;
    bool required = false; // fwd-env: unset is an error (exit 2)
    std::string what;      // the culprit for that message
    bool operator==(const ForwardedEnv&) const = default;
};

// A file the launcher writes into the runtime dir before bwrap runs.
struct RuntimeFile {
    std::string rel; // e.g. "etc/passwd"
    std::string content;
    bool operator==(const RuntimeFile&) const = default;
};

struct Daemon {
    std::string name;                    // "proxy", "nix"
    Args argv;                           // the launcher appends --ready-fd 3 --lifeline-fd 4
    std::string mode;                    // "on" | "auto"
    std::optional<std::string> needs;    // host socket that must exist first
    std::vector<JailListen> jail_listen; // the i-th handed to it as fd jail_listen_fd(i)
    // A file in the log dir the launcher opens (never through a link) and
    // hands to the daemon as fd kAccessLogFd; its argv says `--log fd:6`.
    std::optional<std::string> access_log;
    // Likewise, emptied at each start, as fd kRefusalLogFd.
    std::optional<std::string> refusal_log;
    bool operator==(const Daemon&) const = default;
};

struct Plan {
    std::string version;              // cellgen's, for messages (set by the front end)
    std::string bwrap;                // absolute path
    Args bwrap_args;                  // options only
    std::vector<std::string> command; // after bwrap's `--`; the caller's args follow
    // A starter in the jail that runs first and then execs the command
    // (--containers' cell-engine, ending in `--`); empty: none. The launcher
    // looks the command up, not this.
    std::vector<std::string> jail_init;
    std::vector<RequiredDir> required_dirs;  // checked before anything is created
    std::vector<ForwardedEnv> forwarded_env; // --setenv'd by the launcher from its caller
    std::vector<std::string> runtime_dirs;   // relative to the runtime dir
    std::vector<RuntimeFile> runtime_files;
    std::vector<std::string> private_devices; // copied to $CELL_RT/dev/ when root
    long max_procs = 0;                       // RLIMIT_NPROC on bwrap, pids.max; 0: none
    unsigned long long memory_max = 0;        // the cell's cgroup, where one can be made
    std::optional<Arg> log_dir;               // none: no log files (JSON: the runtime dir's log)
    std::vector<Daemon> daemons;
    std::optional<std::string> worktree; // host path, for the masks
    std::vector<std::string> masks;      // --mask globs, matched at start by the launcher
    // Lines the launcher says on stderr as the cell starts (the policy in force).
    std::vector<std::string> notices;

    // Not in the JSON: what the renderers show or write around it.
    std::string launch;                                   // cell-launch, absolute (scripts only)
    std::vector<std::pair<std::string, std::string>> env; // already in bwrap_args as --setenv

    // The log dir the launcher makes and opens: the plan's, or the runtime
    // dir's `log`.
    Arg log_dir_or_runtime() const { return log_dir.value_or(RuntimePath{"log"}); }

    bool operator==(const Plan&) const = default;
};

// Helper binaries the plan refers to (absolute host paths).
struct Binaries {
    std::string bwrap;
    std::optional<std::string> relay; // the nix daemon's bridge
    std::optional<std::string> proxy;
    std::optional<std::string> launch;
};

Plan make_plan(const Jail& jail, const ProxySettings& proxy, const Binaries& bins,
               std::vector<std::string> command);

// One line of JSON (no newline inside): what --print plan writes.
std::string plan_to_json(const Plan& plan);

class PlanError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The format's version (`cell_launch_plan`): a wrapper and its cell-launch
// come from one build, and a reader refuses any other version.
inline constexpr int kPlanVersion = 7;

// Parses what plan_to_json wrote; throws PlanError naming the field. The
// fields the JSON leaves out (launch, env) come back empty, and log_dir
// always set.
Plan plan_from_json(std::string_view text);

} // namespace cellgen
