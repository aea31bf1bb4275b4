#include "spawn.hpp"
#include "error.hpp"
#include "signals.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace launch {

void move_fds_in_child(const std::vector<FdMove>& fds) {
    // Through high temporaries first: a target number may be another
    // move's source.
    constexpr int kFirstTemp = 64;
    int temps[16];
    size_t n = fds.size() < 16 ? fds.size() : 16;
    for (size_t i = 0; i < n; ++i) {
        temps[i] = ::fcntl(fds[i].from, F_DUPFD_CLOEXEC, kFirstTemp);
    }
    for (size_t i = 0; i < n; ++i) {
        ::dup2(temps[i], fds[i].to); // the target loses O_CLOEXEC
        ::close(temps[i]);
    }
}

pid_t spawn(const SpawnSpec& spec) {
    std::vector<char*> argv;
    for (const auto& a : spec.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        throw_errno("cannot start " + spec.argv.front());
    }
    if (pid == 0) {
        if (spec.pgid) {
            ::setpgid(0, *spec.pgid);
        }
        move_fds_in_child(spec.fds);
        Signals::unblock_all_in_child();
        ::execv(argv[0], argv.data());
        const char* why = std::strerror(errno);
        for (const char* part : {static_cast<const char*>("cell: cannot run "),
                                 static_cast<const char*>(argv[0]), ": ", why, "\n"}) {
            [[maybe_unused]] auto w = ::write(2, part, std::strlen(part));
        }
        ::_exit(127);
    }
    // Both sides set the group, so it is in place whichever runs first.
    if (spec.pgid) {
        ::setpgid(pid, *spec.pgid == 0 ? pid : *spec.pgid);
    }
    return pid;
}

} // namespace launch
