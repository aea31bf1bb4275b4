// Launcher: executes one cell whose runtime dir prepare() (prepare.hpp) has
// made and filled. The theory of operation is in docs/cell.md; in short:
//  1. the keeper (keeper.hpp), our one fork, leads a new process group and
//     holds the read end of a lifeline pipe whose only write end is ours; it
//     starts bwrap at once and, if we die, even by SIGKILL, sees EOF, KILLs
//     bwrap and whatever bwrap left, and removes the runtime dir;
//  2. bwrap sets the jail up, then holds the command back (--seccomp 8)
//     until we write on that gate, once every daemon said ready; a gate
//     that ends unwritten ends bwrap (open_gate);
//  3. each host daemon joins the keeper's group with a ready pipe (fd 3) and
//     the lifeline (fd 4), so it exits on EOF too; the proxy also gets a
//     listener made inside the jail's network namespace (fd 5,
//     jail_listener.hpp) once bwrap has said which process holds that
//     namespace (--info-fd 7);
//  4. a daemon that ends before it is ready, or is not ready in time, fails
//     the cell (exit 70) with its name and the tail of its stderr;
//  5. on every exit path: stop bwrap, TERM then KILL the group, count success
//     as "the processes are gone", summarise what the proxy refused, remove
//     the runtime dir, and any runtime dir a killed launcher left beside it
//     (stale_dirs.hpp). The exit status is the command's (128+N for signal N).
#pragma once

#include "launch/cgroup.hpp"
#include "launch/fd.hpp"
#include "launch/keeper.hpp"
#include "launch/launch_log.hpp"
#include "launch/launch_options.hpp"
#include "launch/waiter.hpp"

#include <chrono>
#include <optional>
#include <sys/types.h>
#include <vector>

namespace launch {

class Launcher {
public:
    explicit Launcher(Options options);
    // The cell's exit status.
    int run();

private:
    struct Daemon {
        std::string name;
        pid_t pid = 0;
        Fd ready; // read end; closed once the daemon said ready
        int log;  // its stderr, for the tail we show when it fails
    };
    enum class Await { ready, failed };

    // The keeper, with bwrap behind the gate, then the daemons that need no
    // jail listener, in the keeper's group.
    void start_cell();
    bool needs_jail_listener() const;
    // The daemons that serve the jail on a listener in its network
    // namespace (jail_listener.hpp), once bwrap said which process holds it.
    // nullopt when they started (or there are none); else a signal that
    // interrupted us, or 0 when bwrap ended first (its status tells why).
    std::optional<int> start_jail_daemons();
    // The pid of bwrap's first process; nullopt with `signal` set when a
    // signal interrupted the wait, or 0 when bwrap ended without one.
    std::optional<pid_t> read_bwrap_info(int& signal);
    void start_daemon(Daemon& d, const DaemonCommand& command,
                      const std::vector<Fd>& jail_listeners);
    // Whether the keeper has bwrap's status within `limit`.
    bool bwrap_ends_within(std::chrono::milliseconds limit) const;
    // nullopt: every daemon is ready; else the signal that interrupted us, or
    // 0 after a failure that was already reported.
    std::optional<int> await_daemons();
    void open_gate();
    // The command's status, or a signal that interrupted the wait (negated).
    int wait_bwrap();
    // bwrap's status from the keeper, once its status pipe is readable.
    int take_bwrap_status();
    // Asks the keeper to stop bwrap and waits for its status.
    void stop_bwrap();
    // What the Waiter tells of each child it reaps: a daemon's end is
    // noted, or, while the command runs, said with the tail of its stderr.
    void report_exit(pid_t pid, int status);
    void kill_orphans();
    void make_cgroup();
    bool stop_group();
    // Every exit path ends here; false when something could not be cleaned.
    bool cleanup();
    int on_signal(int sig);

    Options opts_;
    Waiter waiter_; // every wait: the fds, the signals, reaping
    LaunchLog log_;
    Fd runtime_dir_lock_; // marks the runtime dir live (stale_dirs.hpp)
    pid_t pgid_ = 0;      // the keeper's pid
    Fd lifeline_write_;
    Fd lifeline_read_; // for the daemons and the keeper
    Fd gate_write_;
    Fd bwrap_info_; // read end of bwrap's --info-fd
    std::vector<Fd> jail_listeners_;
    std::chrono::steady_clock::time_point
        ready_deadline_{}; // the daemons' jail listeners, kept bound
    Fd devnull_;
    CellCgroup cgroup_; // bwrap and the jail, where the host lets us make one
    std::optional<Keeper> keeper_;
    bool bwrap_ended_ = false; // its status came from the keeper
    std::vector<Daemon> daemons_;
    bool cleaned_ = false;
    bool running_ = false; // the command runs: a daemon that ends is news
};

} // namespace launch
