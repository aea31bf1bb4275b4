#include "launch/launcher.hpp"
#include "launch/children.hpp"
#include "launch/jail_listener.hpp"
#include "launch/refusals.hpp"
#include "launch/runtime_dir.hpp"
#include "launch/setup_error.hpp"
#include "launch/spawn.hpp"
#include "launch/stale_dirs.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace launch {

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

milliseconds until(Clock::time_point deadline) {
    return std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
}

const char* signal_name(int sig) {
    switch (sig) {
    case SIGINT:
        return "INT";
    case SIGTERM:
        return "TERM";
    case SIGHUP:
        return "HUP";
    default:
        return "?";
    }
}

// As --memory-max takes it: 64M, not 67108864.
std::string size_text(unsigned long long bytes) {
    for (auto [unit, shift] : {std::pair{'G', 30}, std::pair{'M', 20}, std::pair{'K', 10}}) {
        if (bytes % (1ULL << shift) == 0) {
            return fmt::format("{}{}", bytes >> shift, unit);
        }
    }
    return std::to_string(bytes);
}

} // namespace

Launcher::Launcher(Options options)
    : opts_(std::move(options)),
      waiter_([this](pid_t pid, int status) { report_exit(pid, status); }),
      log_(std::move(opts_.log)), runtime_dir_lock_(lock_runtime_dir(opts_.runtime_dir)) {
    // Orphans of the keeper come to us, not to init (kill_orphans).
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        throw_errno("cannot become a child subreaper");
    }
}

int Launcher::run() {
    try {
        // bwrap hands stdio to the jail: a host directory there would be a
        // way out (/proc/self/fd/N/..).
        for (int fd : {0, 1, 2}) {
            struct stat st;
            if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                log_.say(fmt::format("fd {} is a directory; a cell does not take host directories "
                                     "as stdio",
                                     fd));
                cleanup();
                return 2;
            }
        }
        for (const auto& notice : opts_.notices) {
            log_.say(notice);
        }
        log_.note("runtime dir " + opts_.runtime_dir);
        copy_private_devices(opts_.private_devices, opts_.runtime_dir + "/dev", log_);
        start_cell();
        if (auto stop = start_jail_daemons()) {
            if (*stop > 0) {
                return on_signal(*stop);
            }
            // bwrap ended before it made the jail: its own message said why.
            int rc = wait_bwrap();
            if (rc < 0) {
                return on_signal(-rc);
            }
            cleanup();
            return rc == 0 ? 70 : rc;
        }
        if (auto stop = await_daemons()) {
            if (*stop != 0) {
                return on_signal(*stop);
            }
            cleanup();
            return 70;
        }
        open_gate();
        running_ = true;
        int rc = wait_bwrap();
        if (rc < 0) {
            return on_signal(-rc);
        }
        log_.note(fmt::format("command exited with {}", rc));
        if (!cleanup() && rc == 0) {
            rc = 70;
        }
        return rc;
    } catch (const std::exception& e) {
        log_.say(e.what());
        cleanup();
        return 70;
    }
}

void Launcher::start_cell() {
    auto lifeline = make_pipe("lifeline");
    Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull) {
        throw_errno("cannot open /dev/null");
    }
    Fd args = nul_list_fd(opts_.bwrap_args, opts_.runtime_dir);
    // The gate is bwrap's --seccomp FD: once the jail is set up, its first
    // process reads a seccomp program from FD to the end before it runs the
    // command. open_gate writes one that allows everything. The gate fails
    // closed: on an end with nothing read (we died, or cleaned up first) the
    // empty program is refused and bwrap ends without running the command.
    // (--block-fd would run it on EOF as on a byte.)
    auto gate = make_pipe("gate");
    std::vector<std::string> argv{opts_.bwrap, "--args", "9", "--seccomp", "8"};
    std::vector<FdMove> fds{{args.get(), 9}, {gate.read.get(), 8}};
    if (opts_.log_dir_by_fd) {
        fds.push_back({opts_.log_dir.fd(), kBwrapLogDirFd});
    }
    Pipe info;
    if (needs_jail_listener()) {
        info = make_pipe("bwrap's info");
        argv.insert(argv.end(), {"--info-fd", "7"});
        fds.push_back({info.write.get(), 7});
    }
    argv.emplace_back("--");
    argv.insert(argv.end(), opts_.command.begin(), opts_.command.end());
    make_cgroup();
    // bwrap joins our process group: a terminal's signals and job control
    // reach it as they reach us.
    keeper_.emplace(KeeperSpec{{std::move(argv), std::move(fds), ::getpgrp()},
                               lifeline.read.get(),
                               devnull.get(),
                               runtime_dir_lock_.get(),
                               opts_.max_procs,
                               &cgroup_,
                               opts_.runtime_dir});
    pgid_ = keeper_->pid();
    // One deadline for bwrap's report and every daemon's ready.
    ready_deadline_ = std::chrono::steady_clock::now() + opts_.ready_timeout;
    lifeline_write_ = std::move(lifeline.write);
    lifeline_read_ = std::move(lifeline.read);
    gate_write_ = std::move(gate.write);
    bwrap_info_ = std::move(info.read);
    devnull_ = std::move(devnull);
    log_.note(fmt::format("keeper {} started bwrap behind the gate", pgid_));
    std::vector<std::string> names;
    for (const auto& command : opts_.daemons) {
        if (!command.jail_listen.empty()) {
            continue; // once bwrap has made the jail's network
        }
        auto& d = daemons_.emplace_back(Daemon{command.name, 0, Fd{}, command.stderr_log.get()});
        start_daemon(d, command, {});
        names.push_back(command.name);
    }
    if (!names.empty()) {
        log_.note(
            fmt::format("daemons {} started in process group {}", fmt::join(names, " "), pgid_));
    }
}

bool Launcher::needs_jail_listener() const {
    for (const auto& d : opts_.daemons) {
        if (!d.jail_listen.empty()) {
            return true;
        }
    }
    return false;
}

std::optional<int> Launcher::start_jail_daemons() {
    if (!bwrap_info_) {
        return std::nullopt;
    }
    int sig = 0;
    auto sandbox = read_bwrap_info(sig);
    if (!sandbox) {
        return sig;
    }
    std::vector<std::string> names;
    for (const auto& command : opts_.daemons) {
        if (command.jail_listen.empty()) {
            continue;
        }
        std::vector<Fd> listeners;
        try {
            listeners = listen_in_jail(*sandbox, pgid_, command.jail_listen);
        } catch (const SetupError&) {
            // bwrap's first process may have ended already (a bind source
            // that is missing, say): then bwrap's own message and status
            // tell the story, not our failed look at its namespace.
            if (bwrap_ends_within(milliseconds(1000))) {
                return 0;
            }
            throw;
        }
        std::vector<std::string> where;
        for (const auto& at : command.jail_listen) {
            where.push_back(fmt::format("{}:{}", at.address, at.port));
        }
        auto& d = daemons_.emplace_back(Daemon{command.name, 0, Fd{}, command.stderr_log.get()});
        start_daemon(d, command, listeners);
        // Held until the cleanup: should the daemon die (killed from a jail
        // that shares our pid namespace, or by the OOM killer), the ports
        // stay bound, unanswered, rather than free for a program in the
        // jail to serve.
        for (auto& l : listeners) {
            jail_listeners_.push_back(std::move(l));
        }
        names.push_back(fmt::format("{} ({} in the jail)", command.name, fmt::join(where, ", ")));
    }
    log_.note(fmt::format("daemons {} started in process group {}", fmt::join(names, ", "), pgid_));
    return std::nullopt;
}

// What bwrap writes on --info-fd, {"child-pid": N}, N being its first
// process (in our pid namespace); EOF with nothing means bwrap ended first.
std::optional<pid_t> Launcher::read_bwrap_info(int& signal) {
    std::string text;
    std::vector<bool> readable;
    auto deadline = ready_deadline_;
    while (true) {
        auto left = until(deadline);
        if (left.count() <= 0) {
            throw SetupError(fmt::format("bwrap did not report its process within {}s",
                                         opts_.ready_timeout.count()));
        }
        if (auto sig = waiter_.wait({bwrap_info_.get()}, readable, deadline)) {
            signal = *sig;
            return std::nullopt;
        }
        if (!readable[0]) {
            continue;
        }
        char buf[256];
        auto n = ::read(bwrap_info_.get(), buf, sizeof buf);
        if (n > 0) {
            text.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        bwrap_info_.reset();
        if (text.empty()) {
            return std::nullopt;
        }
        boost::system::error_code ec;
        auto info = boost::json::parse(text, ec);
        const auto* child =
            !ec && info.is_object() ? info.get_object().if_contains("child-pid") : nullptr;
        pid_t pid = child && child->is_int64() ? static_cast<pid_t>(child->get_int64()) : 0;
        if (pid <= 0) {
            throw SetupError("bwrap's --info-fd output has no child-pid: " + text);
        }
        return pid;
    }
}

bool Launcher::bwrap_ends_within(milliseconds limit) const {
    pollfd p{keeper_->status_fd(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(limit.count())) > 0;
}

void Launcher::start_daemon(Daemon& d, const DaemonCommand& command,
                            const std::vector<Fd>& jail_listeners) {
    auto argv = command.argv;
    if (argv.empty()) {
        throw SetupError("daemon " + d.name + ": empty command line");
    }
    for (const char* a : {"--ready-fd", "3", "--lifeline-fd", "4"}) {
        argv.emplace_back(a);
    }
    auto ready = make_pipe("ready");
    std::vector<FdMove> fds{{devnull_.get(), 0},
                            {devnull_.get(), 1},
                            {command.stderr_log.get(), 2},
                            {ready.write.get(), 3},
                            {lifeline_read_.get(), 4}};
    for (std::size_t i = 0; i < jail_listeners.size(); ++i) {
        fds.push_back({jail_listeners[i].get(), cellgen::jail_listen_fd(i)});
    }
    if (command.takes_access_log) {
        fds.push_back({opts_.access_log.get(), cellgen::kAccessLogFd});
    }
    if (command.refusal_log) {
        fds.push_back({command.refusal_log.get(), cellgen::kRefusalLogFd});
    }
    d.pid = spawn({std::move(argv), std::move(fds), pgid_});
    d.ready = std::move(ready.read);
}

std::optional<int> Launcher::await_daemons() {
    auto deadline = ready_deadline_;
    std::vector<int> fds;
    std::vector<Daemon*> waiting;
    std::vector<bool> readable;
    while (true) {
        fds.clear();
        waiting.clear();
        for (auto& d : daemons_) {
            if (d.ready) {
                fds.push_back(d.ready.get());
                waiting.push_back(&d);
            }
        }
        if (waiting.empty()) {
            return std::nullopt;
        }
        auto left = until(deadline);
        if (left.count() <= 0) {
            const auto& d = *waiting.front();
            log_.say_with_tail(
                fmt::format("{} did not become ready within {}s; its stderr ends with:", d.name,
                            opts_.ready_timeout.count()),
                d.log);
            return 0;
        }
        if (auto sig = waiter_.wait(fds, readable, deadline)) {
            return *sig;
        }
        for (size_t i = 0; i < waiting.size(); ++i) {
            if (!readable[i]) {
                continue;
            }
            auto& d = *waiting[i];
            char buf[64];
            auto n = ::read(d.ready.get(), buf, sizeof buf);
            if (n > 0) {
                log_.note(d.name + " ready");
                d.ready.reset();
            } else if (n == 0) {
                // The daemon closed its ready fd without a word: it is ending
                // (or broken); its status, if it comes within a second.
                auto status = waiter_.wait_exit(d.pid, milliseconds(1000));
                log_.say_with_tail(
                    fmt::format("{} failed to start ({}); its stderr ends with:", d.name,
                                status ? fmt::format("exit {}", shell_status(*status))
                                       : std::string("it closed its ready fd and still runs")),
                    d.log);
                return 0;
            }
        }
    }
}

void Launcher::open_gate() {
    // One instruction, "allow": the command runs as if unfiltered (bwrap has
    // set no_new_privs already). 8 bytes, one write, so bwrap never reads
    // half a program. EPIPE (SIGPIPE is blocked) means bwrap has already
    // ended; its status says why.
    const sock_filter allow_all = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    [[maybe_unused]] auto n = ::write(gate_write_.get(), &allow_all, sizeof allow_all);
    gate_write_.reset();
}

int Launcher::wait_bwrap() {
    std::vector<bool> readable;
    while (true) {
        auto sig = waiter_.wait({keeper_->status_fd()}, readable, std::nullopt);
        if (readable[0]) {
            return take_bwrap_status();
        }
        if (sig) {
            return -*sig;
        }
    }
}

int Launcher::take_bwrap_status() {
    bwrap_ended_ = true;
    if (auto status = keeper_->read_status()) {
        return *status;
    }
    log_.say(fmt::format("the keeper {} ended without bwrap's status", pgid_));
    return 70;
}

void Launcher::stop_bwrap() {
    if (!keeper_ || bwrap_ended_) {
        return;
    }
    // The keeper gives bwrap 2 s after TERM before it KILLs it and its orphans.
    ::kill(pgid_, SIGTERM);
    auto deadline = Clock::now() + milliseconds(5000);
    std::vector<bool> readable;
    while (until(deadline).count() > 0) {
        // Signals change nothing now: we are on the way out.
        waiter_.wait({keeper_->status_fd()}, readable, deadline);
        if (readable[0]) {
            take_bwrap_status();
            return;
        }
        waiter_.reap();
    }
    // kill_orphans ends what it left: bwrap and its orphans come to us.
    log_.note("the keeper still has no status for bwrap 5 s after TERM; sending it KILL");
    ::kill(pgid_, SIGKILL);
    waiter_.wait_exit(pgid_, milliseconds(2000));
}

void Launcher::report_exit(pid_t pid, int status) {
    for (const auto& d : daemons_) {
        if (d.pid != pid) {
            continue;
        }
        if (!running_) {
            log_.note(fmt::format("{} exited with {}", d.name, shell_status(status)));
            continue;
        }
        // Said at once: the program in the cell only sees requests hang.
        log_.say_with_tail(
            fmt::format("{} exited with {} while the cell runs: {}; its stderr ends with:", d.name,
                        shell_status(status),
                        d.name == "proxy"
                            ? "HTTP(S) through 127.0.0.1 in the cell now fails or hangs "
                              "until the client's own timeout (the port stays held, so "
                              "nothing in the cell can take it over)"
                            : "what it served in the cell is gone"),
            d.log);
    }
}

// The second line behind the keeper (keeper.hpp), which kills what bwrap
// leaves: should the keeper itself be KILLed (it outlived 5 s of cleanup, or
// someone else killed it), bwrap and its orphans, bwrap's sandbox included,
// are reparented to us, a child subreaper (see the constructor). The sandbox
// is the jail's pid 1, so KILL ends the whole jail.
void Launcher::kill_orphans() {
    auto result = kill_children(
        [this](pid_t pid) {
            bool ours = pid == pgid_;
            for (const auto& d : daemons_) {
                ours = ours || pid == d.pid;
            }
            return ours;
        },
        [this] { waiter_.reap(); }, milliseconds(2000));
    if (!result.killed.empty()) {
        log_.note(fmt::format("killed processes left behind by bwrap: {}",
                              fmt::join(result.killed, " ")));
    }
    if (!result.survivors.empty()) {
        log_.say(fmt::format("processes left behind by bwrap still alive after KILL: {}",
                             fmt::join(result.survivors, " ")));
    }
}

// The cell's cgroup (cgroup.hpp), named after the runtime dir. A memory cap
// that was asked for and cannot be had stops the cell before it starts; the
// process cap has RLIMIT_NPROC behind it (except for root: said in the log).
void Launcher::make_cgroup() {
    auto name = "unsafe-" + opts_.runtime_dir.substr(opts_.runtime_dir.rfind('/') + 1);
    cgroup_ = CellCgroup(name, {opts_.max_procs, opts_.memory_max});
    if (opts_.memory_max > 0 && !cgroup_.caps_memory()) {
        throw SetupError(fmt::format(
            "--memory-max {}: cannot make a cgroup for the cell here (root, or a user with a "
            "delegated cgroup, can; `cell doctor` says); nothing was started",
            size_text(opts_.memory_max)));
    }
    if (cgroup_.active()) {
        log_.note("cgroup " + cgroup_.description());
    } else if (opts_.max_procs > 0 && ::geteuid() == 0) {
        log_.note("no cgroup for the cell here: its processes are not capped (the kernel does "
                  "not apply RLIMIT_NPROC to root)");
    }
}

bool Launcher::stop_group() {
    if (pgid_ == 0) {
        return true;
    }
    // TERM alone first: on the lifeline's EOF the keeper would take the
    // runtime dir's removal on itself (its path for a launcher that died),
    // and we would wait for that.
    ::kill(-pgid_, SIGTERM);
    bool gone = waiter_.wait_group_gone(pgid_, milliseconds(2000));
    lifeline_write_.reset();
    if (!gone) {
        log_.note("daemons still alive after TERM; sending KILL");
        ::kill(-pgid_, SIGKILL);
        if (!waiter_.wait_group_gone(pgid_, milliseconds(2000))) {
            log_.say(fmt::format("daemon process group {} is still alive after KILL", pgid_));
            return false;
        }
    }
    log_.note(fmt::format("daemon group {} gone", pgid_));
    pgid_ = 0;
    return true;
}

bool Launcher::cleanup() {
    if (cleaned_) {
        return true;
    }
    cleaned_ = true;
    running_ = false; // daemons that end from here on are ended by us
    bool ok = true;
    // A command still held at the gate never runs: closed unwritten, the
    // gate ends bwrap. Closed only once bwrap and whatever it left are
    // gone, so that bwrap has no word to say about it on the terminal.
    stop_bwrap();
    kill_orphans();
    gate_write_.reset();
    ok = stop_group() && ok;
    if (cgroup_.active() && !cgroup_.remove()) {
        log_.say(fmt::format("cannot remove the cell's cgroup ({})", cgroup_.description()));
        ok = false;
    }
    for (const auto& path : CellCgroup::sweep_stale(std::chrono::seconds(30))) {
        log_.note("removed " + path + ", a cgroup left by a killed launcher");
    }
    jail_listeners_.clear();
    // The daemons are gone, so every refusal is in the proxy's log (each is
    // logged before it is answered; a tunnel cut short by the stop is not).
    for (const auto& line : refusal_summary(opts_.access_log.get(), opts_.access_log_start)) {
        log_.say(line);
    }
    if (!remove_tree(opts_.runtime_dir)) {
        log_.say(fmt::format("cannot remove the runtime dir {}: {}", opts_.runtime_dir,
                             std::strerror(errno)));
        ok = false;
    }
    // Making and locking a dir takes microseconds: a dir nobody locks that is this old
    // was left by a launcher killed before it took the lock.
    for (const auto& path : sweep_stale_runtime_dirs(opts_.runtime_dir, std::chrono::seconds(30))) {
        log_.note("removed " + path + ", a runtime dir left by a killed launcher");
    }
    return ok;
}

int Launcher::on_signal(int sig) {
    log_.note(fmt::format("caught SIG{}", signal_name(sig)));
    cleanup();
    return 128 + sig;
}

} // namespace launch
