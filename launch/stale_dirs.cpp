#include "launch/stale_dirs.hpp"
#include "launch/runtime_dir.hpp"
#include "launch/setup_error.hpp"

#include <cerrno>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <string_view>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace launch {

namespace {

// cell-<16 hex digits>, as prepare.cpp names them.
bool runtime_dir_name(std::string_view name) {
    constexpr std::string_view prefix = "cell-";
    if (name.size() != prefix.size() + 16 || !name.starts_with(prefix)) {
        return false;
    }
    for (char c : name.substr(prefix.size())) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

} // namespace

Fd lock_runtime_dir(const std::string& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        throw_errno("cannot open the runtime dir " + dir);
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        throw_errno("cannot lock the runtime dir " + dir);
    }
    return fd;
}

std::vector<std::string> sweep_stale_runtime_dirs(const std::string& own,
                                                  std::chrono::seconds min_age) {
    std::vector<std::string> removed;
    auto parent = std::filesystem::path(own).parent_path();
    auto own_name = std::filesystem::path(own).filename().string();
    Fd dir_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd) {
        return removed;
    }
    DIR* dir = ::fdopendir(::fcntl(dir_fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!dir) {
        return removed;
    }
    std::vector<std::string> candidates;
    while (auto* entry = ::readdir(dir)) {
        if (runtime_dir_name(entry->d_name) && own_name != entry->d_name) {
            candidates.emplace_back(entry->d_name);
        }
    }
    ::closedir(dir);
    auto now = ::time(nullptr);
    for (const auto& name : candidates) {
        struct stat st;
        if (::fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
            now - st.st_mtime < min_age.count()) {
            continue;
        }
        Fd fd(
            ::openat(dir_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
            continue; // a live cell's
        }
        auto path = (parent / name).string();
        // Ours now, locked: a cell that has not started yet cannot take it.
        if (remove_tree(path)) {
            removed.push_back(path);
        }
    }
    return removed;
}

} // namespace launch
