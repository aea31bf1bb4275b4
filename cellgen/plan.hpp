// The plan: everything the launcher needs to run one cell, already decided.
// Renderers (render_*.cpp) only format it.
#pragma once

#include "arg.hpp"
#include "jail.hpp"
#include "settings.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cellgen {

struct Daemon {
    std::string name;                 // "proxy", "nix"
    Args argv;                        // launcher appends --ready-fd N --lifeline-fd M
    Arg ready_socket;                 // the socket it listens on once ready
    std::string mode;                 // "on" | "auto"
    std::optional<std::string> needs; // host socket that must exist first
};

struct InJailHelper {
    std::string name;
    std::vector<std::string> argv;
    // The option by which this helper (the jail's first process) takes a
    // gate fd: the launcher then starts bwrap while the host daemons are
    // still starting and lets the command run once they are ready.
    std::optional<std::string> gate_option;
};

struct Plan {
    std::string bwrap;                       // absolute path
    std::string launch;                      // cell-launch, absolute (scripts only)
    Args bwrap_args;                         // options only
    std::vector<std::string> command_prefix; // in-jail helpers before the user command
    std::vector<std::string> user_command;
    std::vector<std::pair<std::string, std::string>> env;
    std::vector<std::string> runtime_dirs;
    std::vector<RuntimeFile> runtime_files;
    std::vector<std::string> private_devices; // copied to $CELL_RT/dev/ when root
    std::vector<RequiredDir> required_dirs;   // checked before anything is created
    std::vector<ForwardedEnv> forwarded_env;  // --setenv'd by the launcher from its caller
    std::vector<Daemon> daemons;
    std::vector<InJailHelper> in_jail;
    std::optional<Arg> log_dir;
    std::vector<std::pair<std::string, Arg>> log_files; // name -> host path
    std::optional<Arg> proxy_log;

    // What follows bwrap's `--`.
    std::vector<std::string> command() const;
};

// Helper binaries the plan refers to (absolute host paths).
struct Binaries {
    std::string bwrap;
    std::optional<std::string> relay;
    std::optional<std::string> proxy;
    std::optional<std::string> launch;
};

Plan make_plan(const Jail& jail, const ProxySettings& proxy, const Binaries& bins,
               std::vector<std::string> user_command);

} // namespace cellgen
