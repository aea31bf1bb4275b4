// See mask.hpp.
#include "launch/mask.hpp"
#include "launch/prepare.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fnmatch.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace launch {

namespace {

std::vector<std::string> components(std::string_view path) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at <= path.size()) {
        auto slash = path.find('/', at);
        auto end = slash == std::string_view::npos ? path.size() : slash;
        if (end > at) {
            out.emplace_back(path.substr(at, end - at));
        }
        at = end + 1;
    }
    return out;
}

bool match_from(const std::vector<std::string>& glob, std::size_t g,
                const std::vector<std::string>& path, std::size_t p) {
    if (g == glob.size()) {
        return p == path.size();
    }
    if (glob[g] == "**") {
        for (std::size_t skip = p; skip <= path.size(); ++skip) {
            if (match_from(glob, g + 1, path, skip)) {
                return true;
            }
        }
        return false;
    }
    return p < path.size() && ::fnmatch(glob[g].c_str(), path[p].c_str(), 0) == 0 &&
           match_from(glob, g + 1, path, p + 1);
}

struct Walk {
    const std::vector<std::vector<std::string>>& globs;
    std::size_t max_entries;
    std::size_t seen = 0;
    std::vector<std::string> found;

    void dir(int fd, const std::string& rel) {
        // Owned, so a throw from a deeper level closes every level above it.
        std::unique_ptr<DIR, int (*)(DIR*)> owned(::fdopendir(fd), ::closedir);
        if (!owned) {
            ::close(fd);
            return;
        }
        DIR* d = owned.get();
        while (auto* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name == "." || name == "..") {
                continue;
            }
            if (++seen > max_entries) {
                throw PrepareError(70, fmt::format("--mask: the worktree has more than {} "
                                                   "entries; masks cannot be applied in full",
                                                   max_entries));
            }
            auto path = rel.empty() ? name : rel + "/" + name;
            struct stat st;
            if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
                continue;
            }
            if (S_ISDIR(st.st_mode)) {
                int sub = ::openat(::dirfd(d), name.c_str(),
                                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0) {
                    dir(sub, path);
                }
            } else if (S_ISREG(st.st_mode)) {
                auto parts = components(path);
                for (const auto& g : globs) {
                    if (match_from(g, 0, parts, 0)) {
                        found.push_back(path);
                        break;
                    }
                }
            }
        }
    }
};

} // namespace

bool mask_matches(std::string_view glob, std::string_view path) {
    return match_from(components(glob), 0, components(path), 0);
}

std::vector<std::string> masked_files(const std::string& root,
                                      const std::vector<std::string>& globs,
                                      std::size_t max_entries) {
    std::vector<std::vector<std::string>> split;
    for (const auto& g : globs) {
        split.push_back(components(g));
    }
    int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        throw PrepareError(
            70, fmt::format("--mask: cannot read the worktree {}: {}", root, std::strerror(errno)));
    }
    Walk walk{split, max_entries, 0, {}};
    walk.dir(fd, "");
    return walk.found;
}

} // namespace launch
