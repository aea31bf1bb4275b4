// The calling process's live children, for a child subreaper that must end
// whatever was reparented to it.
#pragma once

#include <sys/types.h>
#include <vector>

namespace launch {

// The kernel's list when it keeps one (CONFIG_PROC_CHILDREN), else a scan of
// /proc for our pid as parent.
std::vector<pid_t> live_children();

} // namespace launch
