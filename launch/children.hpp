// The calling process's live children, for a child subreaper that must end
// whatever was reparented to it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <sys/types.h>
#include <vector>

namespace launch {

// The parent pid of `pid` from /proc/PID/stat; nullopt when it is gone.
std::optional<pid_t> parent_of(pid_t pid);

// The kernel's list when it keeps one (CONFIG_PROC_CHILDREN), else a scan of
// /proc for our pid as parent.
std::vector<pid_t> live_children();

struct KillResult {
    std::vector<pid_t> killed;    // every child KILLed, once each
    std::vector<pid_t> survivors; // still alive when `limit` ran out
};

// KILLs every child `spare` does not name, reaping with `reap` between
// rounds, and lists the children again until none is left, for at most
// `limit`: a bwrap KILLed while it starts hands its sandbox child to its
// subreaper only as it dies, and that child would otherwise wait for ever.
KillResult kill_children(const std::function<bool(pid_t)>& spare, const std::function<void()>& reap,
                         std::chrono::milliseconds limit);

} // namespace launch
