#include "launch/spawn.hpp"
#include "launch/fd.hpp"
#include "launch/setup_error.hpp"
#include "launch/signals.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

namespace launch {

// posix_spawn: glibc starts the child with CLONE_VM|CLONE_VFORK, so no page
// table is copied; on a VM where copy-on-write faults are expensive that is
// most of a fork's cost.
pid_t spawn(const SpawnSpec& spec) {
    std::vector<char*> argv;
    for (const auto& a : spec.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : spec.env) {
        envp.push_back(const_cast<char*>(e.c_str()));
    }
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    // Through high temporaries first: a target number may be another
    // move's source. The temporaries are O_CLOEXEC, so exec drops them.
    std::vector<Fd> temps;
    for (const auto& m : spec.fds) {
        temps.emplace_back(::fcntl(m.from, F_DUPFD_CLOEXEC, 64));
        if (!temps.back()) {
            throw_errno("cannot start " + spec.argv.front());
        }
    }
    for (size_t i = 0; i < spec.fds.size(); ++i) {
        posix_spawn_file_actions_adddup2(&actions, temps[i].get(), spec.fds[i].to);
    }
    // No signal blocked; SIGCHLD and SIGTERM at their defaults even when our
    // caller ignored them (bwrap must see its children end, and must end on
    // the TERM of our cleanup).
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGCHLD);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    if (spec.pgid) {
        flags |= POSIX_SPAWN_SETPGROUP;
        posix_spawnattr_setpgroup(&attr, *spec.pgid);
    }
    posix_spawnattr_setflags(&attr, flags);
    pid_t pid = 0;
    int err = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
        errno = err;
        throw_errno("cannot run " + spec.argv.front());
    }
    return pid;
}

} // namespace launch
