// Input checks. They only look at text (and, for host paths, the cwd), so the
// same rules apply to flags and profile lines.
#include "cellgen/validate.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <system_error>

namespace cellgen {

namespace {

bool has_dotdot(std::string_view path) {
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        if (path.substr(start, end - start) == "..") {
            return true;
        }
        start = end + 1;
    }
    return false;
}

} // namespace

bool is_env_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
        return false;
    }
    for (char c : name) {
        bool ok =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::string check_jail_path(std::string_view path) {
    if (path.empty() || path[0] != '/') {
        return "jail path must be absolute";
    }
    if (has_dotdot(path)) {
        return "jail path must not contain '..'";
    }
    if (path.find('\0') != std::string_view::npos) {
        return "jail path must not contain NUL";
    }
    return {};
}

std::string check_time_zone(std::string_view zone) {
    if (zone.empty() || zone[0] == '/' || has_dotdot(zone)) {
        return "not a time zone name (like Europe/Paris or UTC)";
    }
    for (char c : zone) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '+' || c == '/';
        if (!ok) {
            return "not a time zone name (like Europe/Paris or UTC)";
        }
    }
    return {};
}

std::string absolute_host_path(std::string_view path) {
    // The error_code overload: the throwing one ends the program on an empty
    // path (found by the profile fuzzer); callers reject empty paths first.
    std::error_code ec;
    auto abs = std::filesystem::absolute(std::filesystem::path(path), ec);
    if (ec) {
        return std::string(path);
    }
    auto text = abs.lexically_normal().string();
    if (text.size() > 1 && text.back() == '/') {
        text.pop_back();
    }
    return text;
}

namespace {

// Directories that hold the host itself: a cell bound to one of them (or to
// /, their parent) could change the system, or, for a log dir, have the host
// write its logs there. `--worktree "$UNSET/"` is how one arrives here.
constexpr std::string_view kSystemDirs[] = {
    "/bin",     "/boot",      "/dev",       "/etc",     "/home",    "/lib",  "/lib32",
    "/lib64",   "/nix",       "/nix/store", "/nix/var", "/opt",     "/proc", "/root",
    "/run",     "/sbin",      "/srv",       "/sys",     "/tmp",     "/usr",  "/usr/bin",
    "/usr/lib", "/usr/local", "/var",       "/var/lib", "/var/log",
};

// Whether `dir` is `path` itself or one of its parents.
bool is_same_or_parent(std::string_view dir, std::string_view path) {
    if (dir == "/" || dir == path) {
        return true;
    }
    return path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/';
}

} // namespace

std::string check_cell_dir_scope(std::string_view path, std::string_view home) {
    std::string_view what;
    if (path == "/") {
        what = "the root of the host's file system";
    } else if (std::find(std::begin(kSystemDirs), std::end(kSystemDirs), path) !=
               std::end(kSystemDirs)) {
        what = "a whole-system directory";
    } else if (!home.empty() && path == home) {
        what = "your home directory ($HOME)";
    } else if (!home.empty() && home != "/" && is_same_or_parent(path, home)) {
        what = "a parent of your home directory ($HOME)";
    }
    if (what.empty()) {
        return {};
    }
    return std::string(what) + "; a cell would get all of it (give a project directory, or " +
           kSystemDirOverride + " if you mean it)";
}

} // namespace cellgen
