// The keeper: the one fork of cell-launch, holding what must outlive the
// launcher, even a launcher killed with SIGKILL.
//
// It leads the daemons' process group and holds the lifeline's read end like
// them; it is bwrap's parent and a child subreaper. When the lifeline reads
// EOF (the launcher is gone without cleaning up) it KILLs bwrap and whatever
// bwrap left, then removes the runtime dir. That covers the gaps in bwrap's
// --die-with-parent while bwrap starts: its sandbox child, and then the
// jail's pid 1, set PR_SET_PDEATHSIG late, and a launcher killed in those
// milliseconds used to leave a jail running (about one in 40 SIGKILLs 22-46
// ms into a cell, the command included).
//
// It starts bwrap at once: bwrap holds the command back itself (the gate)
// until the launcher has every daemon ready. Protocol with the launcher,
// through a pipe and a signal:
//  - status: once bwrap has ended, and the orphans it left are KILLed, the
//    keeper writes bwrap's status as a shell reports it (128+N for signal N;
//    70 when bwrap could not be run) and closes the pipe;
//  - SIGTERM while bwrap runs: TERM bwrap, KILL it after 2 s (the
//    launcher's cleanup); SIGTERM otherwise: exit (the launcher's TERM to
//    the daemons' group).
#pragma once

#include "launch/cgroup.hpp"
#include "launch/fd.hpp"
#include "launch/spawn.hpp"

#include <optional>
#include <string>
#include <sys/types.h>

namespace launch {

struct KeeperSpec {
    SpawnSpec bwrap;      // its pgid: the launcher's process group
    int lifeline_read;    // EOF: the launcher is gone
    int devnull;          // the keeper's stdio once bwrap has its own
    int runtime_dir_lock; // held until the dir is gone (stale_dirs.hpp)
    long max_procs;       // RLIMIT_NPROC for bwrap and the jail; 0: none
    // Joined before bwrap starts, left and removed when the launcher is
    // gone; may be inactive.
    const CellCgroup* cgroup;
    std::string runtime_dir;
};

// The launcher's side of the keeper.
class Keeper {
public:
    // Forks the keeper, which starts bwrap.
    explicit Keeper(const KeeperSpec& spec);

    pid_t pid() const { return pid_; }
    // Readable once bwrap's status is there, or the keeper is gone.
    int status_fd() const { return status_.get(); }
    // bwrap's status once status_fd() is readable; nullopt when the keeper
    // ended without one (it was killed).
    std::optional<int> read_status();

private:
    pid_t pid_ = 0;
    Fd status_;
};

} // namespace launch
