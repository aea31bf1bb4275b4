// The plan: everything the launcher needs to run one cell, already decided.
// Renderers (render_*.cpp) only format it.
#pragma once

#include "cellgen/arg.hpp"
#include "cellgen/jail.hpp"
#include "cellgen/jail_listen.hpp"
#include "cellgen/settings.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cellgen {

struct Daemon {
    std::string name;                // "proxy", "nix"
    Args argv;                       // launcher appends --ready-fd N --lifeline-fd M
    std::optional<Arg> ready_socket; // the socket file it listens on once ready
    std::optional<JailListen> jail_listen;
    std::string mode;                 // "on" | "auto"
    std::optional<std::string> needs; // host socket that must exist first
    // A file in the log dir the launcher opens (never through a link) and
    // hands to the daemon as fd kAccessLogFd; its argv says `--log fd:6`.
    std::optional<std::string> access_log = {};
    // Likewise, emptied at each start, as fd kRefusalLogFd.
    std::optional<std::string> refusal_log = {};
};

struct Plan {
    std::string bwrap;  // absolute path
    std::string launch; // cell-launch, absolute (scripts only)
    Args bwrap_args;    // options only
    std::vector<std::string> user_command;
    std::vector<std::pair<std::string, std::string>> env;
    std::vector<std::string> runtime_dirs;
    std::vector<RuntimeFile> runtime_files;
    std::vector<std::string> private_devices; // copied to $CELL_RT/dev/ when root
    long max_procs = 0;                       // RLIMIT_NPROC on bwrap; 0: none
    std::vector<RequiredDir> required_dirs;   // checked before anything is created
    std::vector<ForwardedEnv> forwarded_env;  // --setenv'd by the launcher from its caller
    std::vector<Daemon> daemons;
    std::optional<Arg> log_dir;
    std::vector<std::pair<std::string, Arg>> log_files; // name -> host path
    std::optional<Arg> proxy_log;
    // Lines the launcher says on stderr as the cell starts (the policy in force).
    std::vector<std::string> notices;

    // What follows bwrap's `--`: the user's command itself, since no helper
    // runs in the jail.
    const std::vector<std::string>& command() const { return user_command; }
};

// Helper binaries the plan refers to (absolute host paths).
struct Binaries {
    std::string bwrap;
    std::optional<std::string> relay; // the nix daemon's bridge
    std::optional<std::string> proxy;
    std::optional<std::string> launch;
};

Plan make_plan(const Jail& jail, const ProxySettings& proxy, const Binaries& bins,
               std::vector<std::string> user_command);

} // namespace cellgen
