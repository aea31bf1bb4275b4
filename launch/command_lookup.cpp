// See command_lookup.hpp.
#include "launch/command_lookup.hpp"

#include <cerrno>
#include <climits>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace launch {

namespace {

// One bwrap option that puts something at `dest` in the jail.
struct Mount {
    enum Kind {
        bind,    // `src` on the host
        empty,   // a tmpfs, --dir, --proc, --dev, --mqueue: nothing of the host
        symlink, // a link whose target is `src`
        opaque,  // a file from an fd (--file, --bind-data, --ro-bind-fd)
    } kind;
    std::string src;
    std::string dest;
};

// The options bwrap reads, and what their arguments are. Those not named
// here make the whole answer `unknown`.
enum class Role {
    none,
    skip1,
    skip2,
    chdir,
    setenv,
    unsetenv,
    clearenv,
    bind,
    bind_try,
    dest,
    link,
    fd_dest
};

const std::map<std::string, Role, std::less<>>& roles() {
    static const std::map<std::string, Role, std::less<>> table = {
        {"--unshare-user", Role::none},
        {"--unshare-user-try", Role::none},
        {"--unshare-ipc", Role::none},
        {"--unshare-pid", Role::none},
        {"--unshare-net", Role::none},
        {"--unshare-uts", Role::none},
        {"--unshare-cgroup", Role::none},
        {"--unshare-cgroup-try", Role::none},
        {"--unshare-all", Role::none},
        {"--share-net", Role::none},
        {"--new-session", Role::none},
        {"--die-with-parent", Role::none},
        {"--as-pid-1", Role::none},
        {"--disable-userns", Role::none},
        {"--assert-userns-disabled", Role::none},
        {"--level-prefix", Role::none},
        {"--clearenv", Role::clearenv},
        {"--uid", Role::skip1},
        {"--gid", Role::skip1},
        {"--hostname", Role::skip1},
        {"--remount-ro", Role::skip1},
        {"--perms", Role::skip1},
        {"--size", Role::skip1},
        {"--cap-add", Role::skip1},
        {"--cap-drop", Role::skip1},
        {"--exec-label", Role::skip1},
        {"--file-label", Role::skip1},
        {"--lock-file", Role::skip1},
        {"--sync-fd", Role::skip1},
        {"--block-fd", Role::skip1},
        {"--userns-block-fd", Role::skip1},
        {"--info-fd", Role::skip1},
        {"--json-status-fd", Role::skip1},
        {"--seccomp", Role::skip1},
        {"--add-seccomp-fd", Role::skip1},
        {"--userns", Role::skip1},
        {"--userns2", Role::skip1},
        {"--pidns", Role::skip1},
        {"--argv0", Role::skip1},
        {"--chmod", Role::skip2},
        {"--chdir", Role::chdir},
        {"--setenv", Role::setenv},
        {"--unsetenv", Role::unsetenv},
        {"--bind", Role::bind},
        {"--ro-bind", Role::bind},
        {"--dev-bind", Role::bind},
        {"--bind-try", Role::bind_try},
        {"--ro-bind-try", Role::bind_try},
        {"--dev-bind-try", Role::bind_try},
        {"--tmpfs", Role::dest},
        {"--dir", Role::dest},
        {"--proc", Role::dest},
        {"--dev", Role::dest},
        {"--mqueue", Role::dest},
        {"--symlink", Role::link},
        {"--file", Role::fd_dest},
        {"--bind-data", Role::fd_dest},
        {"--ro-bind-data", Role::fd_dest},
        {"--bind-fd", Role::fd_dest},
        {"--ro-bind-fd", Role::fd_dest},
    };
    return table;
}

// "/a//b/" -> "/a/b"; a relative path is taken from the jail's root, as
// bwrap takes a destination.
std::string normal(const std::string& path) {
    std::string out;
    std::size_t at = 0;
    while (at < path.size()) {
        auto slash = path.find('/', at);
        auto end = slash == std::string::npos ? path.size() : slash;
        if (end > at && path.compare(at, end - at, ".") != 0) {
            out += '/';
            out.append(path, at, end - at);
        }
        at = end + 1;
    }
    return out.empty() ? "/" : out;
}

bool under(const std::string& path, const std::string& dir) {
    return dir == "/" || path == dir ||
           (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
            path[dir.size()] == '/');
}

struct Jail {
    std::vector<Mount> mounts;
    std::optional<std::string> path_env;
    std::optional<std::string> chdir;

    // The last mount at `path` or above it (-1: none, bwrap's empty root).
    int covering(const std::string& path) const {
        for (int i = static_cast<int>(mounts.size()) - 1; i >= 0; --i) {
            if (under(path, mounts[i].dest)) {
                return i;
            }
        }
        return -1;
    }

    // Whether a mount after `after` lies at or below `path`: bwrap makes
    // the directories on the way to it.
    bool made_below(const std::string& path, int after) const {
        for (std::size_t i = after + 1; i < mounts.size(); ++i) {
            if (under(mounts[i].dest, path)) {
                return true;
            }
        }
        return false;
    }

    Lookup resolve(std::string path) const {
        int links = 0;
    restart:
        path = normal(path);
        if (path == "/") {
            return Lookup::found;
        }
        std::string cur;
        std::size_t at = 1;
        while (at <= path.size()) {
            auto slash = path.find('/', at);
            auto end = slash == std::string::npos ? path.size() : slash;
            auto next = cur + "/" + path.substr(at, end - at);
            auto rest = end < path.size() ? path.substr(end) : std::string();
            at = end + 1;
            int m = covering(next);
            std::optional<std::string> target;
            if (m < 0) {
                if (!made_below(next, -1)) {
                    return Lookup::missing;
                }
            } else {
                const auto& mount = mounts[m];
                switch (mount.kind) {
                case Mount::symlink:
                    if (mount.dest != next) {
                        return Lookup::unknown; // a path through a link we did not follow
                    }
                    target = mount.src;
                    break;
                case Mount::empty:
                    if (mount.dest != next && !made_below(next, m)) {
                        return Lookup::missing;
                    }
                    break;
                case Mount::opaque:
                    if (mount.dest != next) {
                        return Lookup::unknown;
                    }
                    break;
                case Mount::bind: {
                    auto host = mount.src + next.substr(mount.dest == "/" ? 0 : mount.dest.size());
                    // The bind's own source is mounted as resolved on the host.
                    struct stat st;
                    int rc =
                        mount.dest == next ? ::stat(host.c_str(), &st) : ::lstat(host.c_str(), &st);
                    if (rc != 0) {
                        if ((errno == ENOENT || errno == ENOTDIR) && !made_below(next, m)) {
                            return Lookup::missing;
                        }
                        if (errno != ENOENT && errno != ENOTDIR) {
                            return Lookup::unknown;
                        }
                    } else if (S_ISLNK(st.st_mode)) {
                        char buf[PATH_MAX];
                        auto n = ::readlink(host.c_str(), buf, sizeof buf);
                        if (n <= 0 || static_cast<std::size_t>(n) >= sizeof buf) {
                            return Lookup::unknown;
                        }
                        target = std::string(buf, n);
                    }
                    break;
                }
                }
            }
            if (target) {
                if (++links > 40) {
                    return Lookup::unknown; // ELOOP: bwrap's to say
                }
                path = (target->front() == '/' ? *target : cur + "/" + *target) + rest;
                goto restart;
            }
            cur = next;
        }
        return Lookup::found;
    }
};

// bwrap's options as mounts and environment; nullopt for what this cannot
// read.
std::optional<Jail> read_jail(const std::vector<std::string>& args,
                              const std::optional<std::string>& caller_path) {
    Jail jail;
    jail.path_env = caller_path;
    for (std::size_t i = 0; i < args.size(); ++i) {
        auto found = roles().find(args[i]);
        if (found == roles().end()) {
            return std::nullopt;
        }
        auto role = found->second;
        std::size_t want = role == Role::none || role == Role::clearenv ? 0
                           : role == Role::skip2 || role == Role::setenv || role == Role::bind ||
                                   role == Role::bind_try || role == Role::link ||
                                   role == Role::fd_dest
                               ? 2
                               : 1;
        if (i + want >= args.size()) {
            return std::nullopt; // an option short of its arguments
        }
        const std::string* a = want > 0 ? &args[i + 1] : nullptr;
        const std::string* b = want > 1 ? &args[i + 2] : nullptr;
        switch (role) {
        case Role::none:
        case Role::skip1:
        case Role::skip2:
            break;
        case Role::clearenv:
            jail.path_env.reset();
            break;
        case Role::chdir:
            jail.chdir = normal(*a);
            break;
        case Role::setenv:
            if (*a == "PATH") {
                jail.path_env = *b;
            }
            break;
        case Role::unsetenv:
            if (*a == "PATH") {
                jail.path_env.reset();
            }
            break;
        case Role::bind_try: {
            struct stat st;
            if (::stat(a->c_str(), &st) != 0) {
                break; // bwrap skips it
            }
            jail.mounts.push_back({Mount::bind, *a, normal(*b)});
            break;
        }
        case Role::bind:
            jail.mounts.push_back({Mount::bind, *a, normal(*b)});
            break;
        case Role::dest:
            jail.mounts.push_back({Mount::empty, {}, normal(*a)});
            break;
        case Role::link:
            jail.mounts.push_back({Mount::symlink, *a, normal(*b)});
            break;
        case Role::fd_dest:
            jail.mounts.push_back({Mount::opaque, {}, normal(*b)});
            break;
        }
        i += want;
    }
    return jail;
}

} // namespace

Lookup lookup_in_jail(const std::vector<std::string>& bwrap_args, const std::string& command,
                      const std::optional<std::string>& caller_path) {
    if (command.empty()) {
        return Lookup::unknown;
    }
    auto jail = read_jail(bwrap_args, caller_path);
    if (!jail) {
        return Lookup::unknown;
    }
    auto in_cwd = [&](const std::string& rel) -> std::optional<std::string> {
        if (!rel.empty() && rel.front() == '/') {
            return rel;
        }
        if (!jail->chdir) {
            return std::nullopt;
        }
        return *jail->chdir + "/" + rel;
    };
    if (command.find('/') != std::string::npos) {
        auto path = in_cwd(command);
        return path ? jail->resolve(*path) : Lookup::unknown;
    }
    std::string dirs = jail->path_env.value_or("/bin:/usr/bin");
    bool unsure = false;
    std::size_t at = 0;
    while (at <= dirs.size()) {
        auto colon = dirs.find(':', at);
        auto end = colon == std::string::npos ? dirs.size() : colon;
        auto dir = dirs.substr(at, end - at);
        at = end + 1;
        auto path = in_cwd(dir.empty() ? "." : dir);
        if (!path) {
            unsure = true;
            continue;
        }
        switch (jail->resolve(*path + "/" + command)) {
        case Lookup::found:
            return Lookup::found;
        case Lookup::unknown:
            unsure = true;
            break;
        case Lookup::missing:
            break;
        }
    }
    return unsure ? Lookup::unknown : Lookup::missing;
}

} // namespace launch
