// CellCgroup: a cgroup of the cell's own, where the host lets us make one,
// capping its processes (pids.max) and, on request, its memory. bwrap and
// everything in the jail run in it (the keeper joins it before it starts
// bwrap, and leaves it before it removes it); the host daemons do not.
//
// "Where the host lets us": a child of the cgroup we already run in, made
// with mkdir, for root or for a user whose cgroup is delegated to them.
// cgroup v2 needs the controllers enabled in our cgroup's subtree_control,
// which the kernel refuses while processes live in it (the "no internal
// processes" rule): then, as when mkdir is refused, there is no cgroup and
// the rlimit the keeper sets (RLIMIT_NPROC) is the only process cap. The
// kernel does not apply that rlimit to root, so for root the cgroup is what
// caps processes; `cell doctor` says which cap is in force.
//
// The cgroup is named unsafe-<runtime dir name>; one left by a launcher
// killed together with its keeper is removed by a later cell (sweep_stale).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace launch {

struct CgroupLimits {
    long max_procs = 0;                // pids.max; 0: none
    unsigned long long memory_max = 0; // bytes; 0: none
};

class CellCgroup {
public:
    CellCgroup() = default;
    // Makes `name` under our own cgroup (v1: per controller; v2: one) and
    // writes the limits; an inactive cgroup (no dirs) when the host does
    // not let us or nothing is to be capped. Whatever was made is removed
    // again when a limit cannot be written.
    CellCgroup(const std::string& name, const CgroupLimits& limits);
    CellCgroup(CellCgroup&& other) noexcept = default;
    CellCgroup& operator=(CellCgroup&& other) noexcept = default;
    CellCgroup(const CellCgroup&) = delete;
    CellCgroup& operator=(const CellCgroup&) = delete;

    bool active() const { return !dirs_.empty(); }
    bool caps_memory() const { return caps_memory_; }
    bool caps_procs() const { return caps_procs_; }
    // What it caps, for the log: "/sys/fs/cgroup/pids/.../unsafe-cell-...:
    // pids.max 4096".
    const std::string& description() const { return description_; }
    // Moves the calling process in (the keeper, right before it starts
    // bwrap); false when a move failed.
    bool join() const;
    // Moves the calling process back to the parent cgroups.
    void leave() const;
    // Removes the dirs (they must be empty: the members gone); false if one
    // is left.
    bool remove() const;

    // Removes cgroups named unsafe-cell-* beside where ours would be, older
    // than `min_age` and empty (rmdir refuses a cgroup with members).
    // Returns the paths removed.
    static std::vector<std::string> sweep_stale(std::chrono::seconds min_age);

private:
    std::vector<std::string> dirs_;
    std::string description_;
    bool caps_memory_ = false;
    bool caps_procs_ = false;
};

} // namespace launch
