// See cgroup.hpp.
#include "launch/cgroup.hpp"

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

namespace launch {

namespace {

constexpr const char* kRoot = "/sys/fs/cgroup";
constexpr const char* kPrefix = "unsafe-cell-";

bool write_file(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

bool has_word(const std::string& list, const std::string& word) {
    std::stringstream words(list);
    std::string w;
    while (std::getline(words, w, ',')) {
        if (w == word) {
            return true;
        }
    }
    return false;
}

// Where our cgroups would go: the cgroup we run in, per hierarchy.
struct Parents {
    bool v2 = false;
    std::string unified; // v2
    std::string pids;    // v1, "" when that controller is not mounted
    std::string memory;  // v1
};

Parents parents() {
    Parents out;
    struct stat st;
    out.v2 = ::stat(fmt::format("{}/cgroup.controllers", kRoot).c_str(), &st) == 0;
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
        // ID:CONTROLLERS:PATH
        auto a = line.find(':');
        auto b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) {
            continue;
        }
        auto controllers = line.substr(a + 1, b - a - 1);
        auto path = line.substr(b + 1);
        if (path == "/") {
            path.clear();
        }
        if (out.v2 && controllers.empty()) {
            out.unified = kRoot + path;
        } else if (!out.v2 && has_word(controllers, "pids")) {
            out.pids = fmt::format("{}/pids{}", kRoot, path);
        } else if (!out.v2 && has_word(controllers, "memory")) {
            out.memory = fmt::format("{}/memory{}", kRoot, path);
        }
    }
    return out;
}

} // namespace

CellCgroup::CellCgroup(const std::string& name, const CgroupLimits& limits) {
    if (limits.max_procs <= 0 && limits.memory_max == 0) {
        return;
    }
    auto where = parents();
    auto make = [&](const std::string& parent) -> std::string {
        if (parent.empty()) {
            return {};
        }
        auto dir = parent + "/" + name;
        if (::mkdir(dir.c_str(), 0755) != 0) {
            return {};
        }
        dirs_.push_back(dir);
        return dir;
    };
    std::vector<std::string> said;
    auto cap = [&](const std::string& dir, const char* file, unsigned long long value) {
        if (!write_file(dir + "/" + file, std::to_string(value))) {
            return false;
        }
        said.push_back(fmt::format("{}/{} {}", dir, file, value));
        return true;
    };
    bool ok = true;
    if (where.v2) {
        std::string want;
        want += limits.max_procs > 0 ? "+pids " : "";
        want += limits.memory_max > 0 ? "+memory" : "";
        // Refused while processes live in our cgroup (no internal
        // processes) or when it is not ours: then no cgroup for the cell.
        if (!where.unified.empty() && write_file(where.unified + "/cgroup.subtree_control", want)) {
            if (auto dir = make(where.unified); !dir.empty()) {
                caps_procs_ = limits.max_procs > 0 && cap(dir, "pids.max", limits.max_procs);
                caps_memory_ = limits.memory_max > 0 && cap(dir, "memory.max", limits.memory_max);
                // No swap either: memory.max alone would let the cell push
                // the rest out to swap.
                if (caps_memory_) {
                    write_file(dir + "/memory.swap.max", "0");
                }
                ok = (limits.max_procs <= 0 || caps_procs_) &&
                     (limits.memory_max == 0 || caps_memory_);
            }
        }
    } else {
        if (limits.max_procs > 0) {
            if (auto dir = make(where.pids); !dir.empty()) {
                caps_procs_ = cap(dir, "pids.max", limits.max_procs);
                ok = ok && caps_procs_;
            }
        }
        if (limits.memory_max > 0) {
            if (auto dir = make(where.memory); !dir.empty()) {
                caps_memory_ = cap(dir, "memory.limit_in_bytes", limits.memory_max);
                ok = ok && caps_memory_;
                // Memory plus swap, where the kernel accounts swap: the cap
                // is not a push to swap.
                write_file(dir + "/memory.memsw.limit_in_bytes", std::to_string(limits.memory_max));
            }
        }
    }
    if (!ok) { // half a cgroup: none
        remove();
        dirs_.clear();
        caps_procs_ = caps_memory_ = false;
        return;
    }
    description_ = fmt::format("{}", fmt::join(said, ", "));
}

bool CellCgroup::join() const {
    bool ok = true;
    for (const auto& dir : dirs_) {
        ok = write_file(dir + "/cgroup.procs", "0") && ok;
    }
    return ok;
}

void CellCgroup::leave() const {
    for (const auto& dir : dirs_) {
        write_file(dir.substr(0, dir.rfind('/')) + "/cgroup.procs", "0");
    }
}

bool CellCgroup::remove() const {
    bool ok = true;
    for (const auto& dir : dirs_) {
        // A member that has just been reaped may still count for a moment.
        for (int i = 0; i < 50 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) {
            ::usleep(10000);
        }
        ok = ::access(dir.c_str(), F_OK) != 0 && ok;
    }
    return ok;
}

std::vector<std::string> CellCgroup::sweep_stale(std::chrono::seconds min_age) {
    auto where = parents();
    std::vector<std::string> removed;
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    for (const auto& parent : {where.unified, where.pids, where.memory}) {
        if (parent.empty()) {
            continue;
        }
        DIR* dir = ::opendir(parent.c_str());
        if (dir == nullptr) {
            continue;
        }
        while (auto* e = ::readdir(dir)) {
            std::string name = e->d_name;
            if (!name.starts_with(kPrefix)) {
                continue;
            }
            auto path = parent + "/" + name;
            struct stat st;
            if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
                now.tv_sec - st.st_mtim.tv_sec < min_age.count()) {
                continue;
            }
            if (::rmdir(path.c_str()) == 0) { // refused while it has members
                removed.push_back(path);
            }
        }
        ::closedir(dir);
    }
    return removed;
}

} // namespace launch
