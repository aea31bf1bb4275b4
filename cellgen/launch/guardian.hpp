// The guardian: bwrap's parent, a fork of cell-launch that outlives it.
//
// bwrap's --die-with-parent has two gaps while bwrap starts: its sandbox
// child sets PR_SET_PDEATHSIG only after its setup (until then it waits for
// bwrap, for ever once bwrap is gone), and the jail's pid 1 sets it only
// after the command is started. A launcher killed in those few milliseconds
// left a jail running (seen: about one in 40 SIGKILLs 22-46 ms into a cell,
// the command included). The guardian closes them: it is a child subreaper,
// so whatever bwrap leaves is reparented to it, and it KILLs bwrap and those
// orphans when the launcher's lifeline reads EOF (the launcher is gone), on
// SIGTERM (the launcher's cleanup), or when bwrap ends. It exits with
// bwrap's status as a shell reports it (128+N for signal N).
#pragma once

#include "spawn.hpp"

#include <sys/types.h>
#include <vector>

namespace launch {

// Forks the guardian, which starts bwrap as `spec` says; returns its pid.
// The guardian keeps stdio, the fds `spec` moves and `lifeline_read` only.
pid_t spawn_guarded(const SpawnSpec& spec, int lifeline_read);

// The calling process's live children: the kernel's list when it keeps one
// (CONFIG_PROC_CHILDREN), else a scan of /proc for our pid as parent.
std::vector<pid_t> live_children();

} // namespace launch
