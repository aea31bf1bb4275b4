// spawn: start a program with an explicit fd map. cell-launch is one thread and
// every fd it holds is O_CLOEXEC, so a child gets stdio plus exactly the fds
// its spec names, each at the number the spec gives.
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
};

// Starts the child; throws SetupError naming the program when it cannot.
pid_t spawn(const SpawnSpec& spec);

} // namespace launch
