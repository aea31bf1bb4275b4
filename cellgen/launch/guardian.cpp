#include "guardian.hpp"
#include "error.hpp"
#include "signals.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace launch {

namespace {

using Clock = std::chrono::steady_clock;

void kill_and_reap_orphans(pid_t bwrap) {
    for (pid_t pid : live_children()) {
        if (pid != bwrap) {
            ::kill(pid, SIGKILL);
        }
    }
    auto deadline = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < deadline && ::waitpid(-1, nullptr, WNOHANG) >= 0) {
        ::usleep(1000);
    }
}

[[noreturn]] void guard(const SpawnSpec& spec, int lifeline_read) {
    std::vector<int> keep{0, 1, 2, lifeline_read};
    for (const auto& m : spec.fds) {
        keep.push_back(m.from);
    }
    // A fork without exec holds all of the launcher's fds: the lifeline's
    // write end above all must go.
    close_fds_except(keep);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    // Signals stay blocked as the launcher left them; TERM and CHLD are read
    // here, INT and HUP are the launcher's to act on.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    int sfd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    pid_t bwrap = 0;
    try {
        bwrap = spawn(spec);
    } catch (const SetupError& e) {
        auto line = fmt::format("cell: {}\n", e.what());
        [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
        ::_exit(127);
    }
    pollfd p[2] = {{sfd, POLLIN, 0}, {lifeline_read, POLLIN, 0}};
    nfds_t watched = 2;
    bool term_sent = false;
    Clock::time_point kill_at{};
    while (true) {
        int timeout = -1;
        if (term_sent) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(kill_at - Clock::now());
            timeout = static_cast<int>(std::max<long long>(left.count(), 0));
        }
        int n = ::poll(p, watched, timeout);
        if (n == 0 && term_sent && Clock::now() >= kill_at) {
            ::kill(bwrap, SIGKILL); // it outlived TERM
            kill_at = Clock::now() + std::chrono::hours(24);
        }
        if (watched == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ::kill(bwrap, SIGKILL); // the launcher is gone
            watched = 1;
        }
        signalfd_siginfo info;
        while (::read(sfd, &info, sizeof info) == sizeof info) {
            if (info.ssi_signo == SIGTERM && !term_sent) {
                ::kill(bwrap, SIGTERM);
                term_sent = true;
                kill_at = Clock::now() + std::chrono::seconds(2);
            }
        }
        int status;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid == bwrap) {
                kill_and_reap_orphans(bwrap);
                ::_exit(shell_status(status));
            }
        }
    }
}

} // namespace

std::vector<pid_t> live_children() {
    std::vector<pid_t> out;
    pid_t self = ::getpid();
    std::ifstream list(fmt::format("/proc/self/task/{}/children", self));
    if (list) {
        for (pid_t pid; list >> pid;) {
            out.push_back(pid);
        }
        return out;
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line)) {
            continue;
        }
        // pid (comm) state ppid ...: comm may hold spaces and parentheses.
        auto close = line.rfind(')');
        if (close == std::string::npos) {
            continue;
        }
        std::istringstream rest(line.substr(close + 1));
        std::string state;
        pid_t ppid = 0;
        if (rest >> state >> ppid && ppid == self) {
            out.push_back(static_cast<pid_t>(std::stol(entry.path().filename().string())));
        }
    }
    return out;
}

pid_t spawn_guarded(const SpawnSpec& spec, int lifeline_read) {
    pid_t pid = ::fork();
    if (pid < 0) {
        throw_errno("cannot start bwrap's guardian");
    }
    if (pid == 0) {
        guard(spec, lifeline_read);
    }
    return pid;
}

} // namespace launch
