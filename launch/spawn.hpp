// spawn: start a program with an explicit fd map and an explicit environment.
// cell-launch is one thread and every fd it holds is O_CLOEXEC, so a child gets
// stdio plus exactly the fds its spec names, each at the number the spec gives.
// Nothing of the caller's environment is inherited: bwrap's first process in
// the jail keeps the environment bwrap was started with (readable there as
// /proc/1/environ, whatever --clearenv does for the command), so bwrap and
// the host daemons start with exactly what their spec lists.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace launch {

struct FdMove {
    int from; // an fd of ours
    int to;   // its number in the child
};

struct SpawnSpec {
    std::vector<std::string> argv;
    std::vector<FdMove> fds;
    // nullopt: stay in our process group; 0: lead a new one; N: join group N.
    std::optional<pid_t> pgid;
    // The child's whole environment, NAME=VALUE each; empty by default.
    std::vector<std::string> env = {};
};

// Starts the child; throws SetupError naming the program when it cannot.
pid_t spawn(const SpawnSpec& spec);

} // namespace launch
