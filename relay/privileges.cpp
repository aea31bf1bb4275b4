// See privileges.hpp.
#include "relay/privileges.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace relay {
namespace {

Failure failure(char const* step) {
    return Failure{fmt::format("--drop-root: {}: {}", step, std::strerror(errno))};
}

// The non-root groups of `path` and of the directory holding it (both when
// they exist), without duplicates.
std::vector<gid_t> groups_on_the_way(std::string const& dir, std::string const& name) {
    std::vector<gid_t> groups;
    for (std::string const& p : {dir, dir + "/" + name}) {
        struct stat st {};
        if (stat(p.c_str(), &st) == 0 && st.st_gid != 0 &&
            std::find(groups.begin(), groups.end(), st.st_gid) == groups.end()) {
            groups.push_back(st.st_gid);
        }
    }
    return groups;
}

} // namespace

boost::system::result<Endpoint, Failure> drop_root(Endpoint connect) {
    if (getuid() != 0 && geteuid() != 0) {
        return connect;
    }
    std::vector<gid_t> groups;
    if (connect.is_unix()) {
        // Symlinks resolved as root: one pointing through a directory nobody
        // may not search (a test's socket linked from a 0700 dir) still works.
        std::string path = connect.path;
        if (char* real = realpath(connect.path.c_str(), nullptr)) {
            path = real;
            std::free(real);
        }
        auto slash = path.rfind('/');
        std::string const dir = slash == std::string::npos ? std::string(".")
                                : slash == 0               ? std::string("/")
                                                           : path.substr(0, slash);
        std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
        groups = groups_on_the_way(dir, name);
        if (chdir(dir.c_str()) != 0) {
            return Failure{fmt::format("--drop-root: cannot enter the directory of {}: {}: {}",
                                       connect.text, dir, std::strerror(errno))};
        }
        connect.path = fmt::format("./{}", name);
    }
    // Groups first: once the uid is gone, so is the right to change them.
    if (setgroups(groups.size(), groups.data()) != 0) {
        return failure("setgroups");
    }
    if (setresgid(unprivileged_gid, unprivileged_gid, unprivileged_gid) != 0) {
        return failure("setresgid");
    }
    if (setresuid(unprivileged_uid, unprivileged_uid, unprivileged_uid) != 0) {
        return failure("setresuid");
    }
    if (setuid(0) == 0 || geteuid() != unprivileged_uid) {
        return Failure{"--drop-root: still able to regain root after dropping it"};
    }
    // A target nobody cannot open would fail every connection later, inside
    // the cell, with a bare "permission denied": say it now, at start.
    // (A socket not there yet is fine: the daemon may start later.)
    if (connect.is_unix() && access(connect.path.c_str(), W_OK) != 0 && errno != ENOENT) {
        return Failure{fmt::format(
            "--drop-root: as uid {} the relay cannot open {}: {} (give the socket or its "
            "directory a non-root group that may use it, or make it world-writable)",
            unprivileged_uid, connect.text, std::strerror(errno))};
    }
    return connect;
}

} // namespace relay
