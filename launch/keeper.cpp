#include "launch/keeper.hpp"
#include "launch/children.hpp"
#include "launch/runtime_dir.hpp"
#include "launch/setup_error.hpp"
#include "launch/signals.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace launch {

namespace {

using Clock = std::chrono::steady_clock;

// bwrap's status when it cannot be run at all: the cell was not set up.
constexpr int kCannotRun = 70;

void say(const std::string& what) {
    auto line = fmt::format("cell: {}\n", what);
    [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
}

// KILLs every child (whatever bwrap leaves is reparented to us) and reaps
// it, for at most 2 s.
void kill_all_children() {
    kill_children([](pid_t) { return false; },
                  [] {
                      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
                      }
                  },
                  std::chrono::seconds(2));
}

class Keep {
public:
    Keep(const KeeperSpec& spec, int status_write) : spec_(spec), status_write_(status_write) {}

    [[noreturn]] void run() {
        // A fork without exec holds all of the launcher's fds: the
        // lifeline's write end above all must go.
        std::vector<int> keep{
            0, 1, 2, spec_.lifeline_read, spec_.devnull, spec_.runtime_dir_lock, status_write_};
        for (const auto& m : spec_.bwrap.fds) {
            keep.push_back(m.from);
        }
        if (!close_fds_except(keep)) {
            ::_exit(kCannotRun); // the launcher sees no status and fails the cell
        }
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        // Signals stay blocked as the launcher left them. TERM and CHLD are
        // read here; INT and HUP, sent to the launcher's group, never come.
        // The keeper leads a background group that holds the caller's
        // terminal until bwrap starts: with `stty tostop` a write there
        // (bwrap cannot be run) would stop it, and the cell with it, unless
        // SIGTTOU is blocked (the write then proceeds). bwrap starts with
        // no signal blocked (spawn.hpp).
        sigset_t tty;
        sigemptyset(&tty);
        sigaddset(&tty, SIGTTOU);
        sigaddset(&tty, SIGTTIN);
        ::sigprocmask(SIG_BLOCK, &tty, nullptr);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGCHLD);
        sfd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd_ < 0) {
            ::_exit(kCannotRun); // the launcher sees no status and fails the cell
        }
        start_bwrap();
        while (true) {
            loop_once();
        }
    }

private:
    void loop_once() {
        pollfd p[2] = {{sfd_, POLLIN, 0}, {spec_.lifeline_read, POLLIN, 0}};
        int timeout = -1;
        if (term_sent_) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(kill_at_ - Clock::now());
            timeout = static_cast<int>(std::max<long long>(left.count(), 0));
        }
        int n = ::poll(p, 2, timeout);
        if (n < 0) {
            return; // EINTR: nothing is handled asynchronously here
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            launcher_gone();
        }
        if (term_sent_ && bwrap_ > 0 && Clock::now() >= kill_at_) {
            ::kill(bwrap_, SIGKILL); // it outlived TERM
            kill_at_ = Clock::now() + std::chrono::hours(24);
        }
        signalfd_siginfo info;
        while (::read(sfd_, &info, sizeof info) == sizeof info) {
            if (info.ssi_signo != SIGTERM) {
                continue;
            }
            if (bwrap_ <= 0) {
                ::_exit(0); // the launcher's cleanup is done with us
            }
            if (!term_sent_) {
                ::kill(bwrap_, SIGTERM);
                term_sent_ = true;
                kill_at_ = Clock::now() + std::chrono::seconds(2);
            }
        }
        int status;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid == bwrap_) {
                bwrap_ = 0;
                kill_all_children(); // the orphans bwrap left
                report(shell_status(status));
            }
        }
    }

    void start_bwrap() {
        limit_processes();
        if (spec_.cgroup->active() && !spec_.cgroup->join()) {
            say(fmt::format("cannot join the cell's cgroup ({}): {}", spec_.cgroup->description(),
                            std::strerror(errno)));
            report(kCannotRun);
            return;
        }
        try {
            bwrap_ = spawn(spec_.bwrap);
        } catch (const SetupError& e) {
            say(e.what());
            report(kCannotRun);
        }
        // bwrap holds them now; the keeper lets go of the caller's stdio.
        for (const auto& m : spec_.bwrap.fds) {
            ::close(m.from);
        }
        for (int fd : {0, 1, 2}) {
            ::dup2(spec_.devnull, fd);
        }
    }

    // RLIMIT_NPROC, inherited by bwrap and all of the jail: a fork loop there
    // ends in EAGAIN, not in the host's process table. Never above the hard
    // limit we were given. (The kernel does not apply it to root.)
    void limit_processes() {
        rlimit current{};
        if (spec_.max_procs <= 0 || ::getrlimit(RLIMIT_NPROC, &current) != 0) {
            return;
        }
        auto want = static_cast<rlim_t>(spec_.max_procs);
        rlimit next{std::min(want, current.rlim_max), std::min(want, current.rlim_max)};
        if (::setrlimit(RLIMIT_NPROC, &next) != 0) {
            say(fmt::format("cannot limit processes to {}: {}", spec_.max_procs,
                            std::strerror(errno)));
        }
    }

    void report(int status) {
        if (status_write_ < 0) {
            return;
        }
        auto text = fmt::format("{}\n", status);
        [[maybe_unused]] auto n = ::write(status_write_, text.data(), text.size());
        ::close(status_write_);
        status_write_ = -1;
    }

    [[noreturn]] void launcher_gone() {
        kill_all_children(); // bwrap, and then what it leaves
        if (spec_.cgroup->active()) {
            spec_.cgroup->leave();
            spec_.cgroup->remove();
        }
        // The daemons, ending on the same EOF, may still write their logs
        // there for a moment.
        auto deadline = Clock::now() + std::chrono::seconds(2);
        while (!remove_tree(spec_.runtime_dir) && Clock::now() < deadline) {
            ::usleep(10000);
        }
        ::_exit(0);
    }

    const KeeperSpec& spec_;
    int status_write_;
    int sfd_ = -1;
    pid_t bwrap_ = 0;
    bool term_sent_ = false;
    Clock::time_point kill_at_{};
};

} // namespace

Keeper::Keeper(const KeeperSpec& spec) {
    auto status = make_pipe("keeper's status");
    pid_ = ::fork();
    if (pid_ < 0) {
        throw_errno("cannot start the keeper");
    }
    if (pid_ == 0) {
        ::setpgid(0, 0);
        Keep(spec, status.write.get()).run();
    }
    // Both sides set the group: a daemon may join it before the keeper runs.
    ::setpgid(pid_, pid_);
    status_ = std::move(status.read);
}

std::optional<int> Keeper::read_status() {
    char buf[16];
    auto n = ::read(status_.get(), buf, sizeof buf);
    int status = 0;
    if (n <= 0 || std::from_chars(buf, buf + n, status).ec != std::errc{}) {
        return std::nullopt;
    }
    return status;
}

} // namespace launch
