// cell-launch's command line, and the Launcher's options that prepare()
// (prepare.hpp) makes from a plan.
//
//   cell-launch --plan-fd N [--] [ARG...]      run the plan read from fd N;
//                                             ARGs follow the plan's command
//   cell-launch --plan-fd N --prepare-dir DIR  fill DIR as the runtime dir and
//                                             print bwrap's options, NUL-ended
//
// A wrapper from `cellgen --print script` runs the first form with its plan
// on fd 3; `cell` runs the same code in its own process.
#pragma once

#include "cellgen/jail_listen.hpp"
#include "launch/fd.hpp"
#include "launch/launch_log.hpp"
#include "launch/log_dir.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace launch {

struct DaemonCommand {
    std::string name;
    std::vector<std::string> argv; // the launcher appends --ready-fd 3 --lifeline-fd 4
    // Made in bwrap's netns; the i-th as fd cellgen::jail_listen_fd(i) (5, 8, 9, ...).
    std::vector<cellgen::JailListen> jail_listen;
    Fd stderr_log;                 // NAME.log in the log dir
    bool takes_access_log = false; // Options::access_log as fd 6
    Fd refusal_log;                // its refusal log (emptied at start), as fd 7
};

struct Options {
    std::string runtime_dir;    // made and filled; the Launcher removes it
    LogDir log_dir;             // open; every log below is opened in it
    LaunchLog log;              // launcher.log
    bool log_dir_by_fd = false; // bwrap binds it from fd kBwrapLogDirFd
    std::string bwrap;
    std::vector<std::string> bwrap_args; // reach bwrap through --args, never argv
    Fd access_log;                       // the proxy's, for its --log fd:6 and the refusal summary
    off_t access_log_start = 0;          // its size before this cell: a kept log holds earlier ones
    std::vector<std::string> private_devices;
    long max_procs = 0;                 // RLIMIT_NPROC on bwrap (and pids.max); 0: none
    unsigned long long memory_max = 0;  // the cell's cgroup; 0: none
    std::vector<DaemonCommand> daemons; // in start order
    std::chrono::seconds ready_timeout{10};
    std::vector<std::string> command;
    std::vector<std::string> notices; // said on stderr as the cell starts
};

struct Invocation {
    int plan_fd = -1;
    std::optional<std::string> prepare_dir;
    std::vector<std::string> args;
};

// Parses argv; throws UsageError naming the bad flag.
Invocation parse_invocation(int argc, char** argv);

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace launch
