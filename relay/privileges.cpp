// See privileges.hpp.
#include "privileges.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <unistd.h>

namespace relay {
namespace {

Failure failure(char const* step) {
    return Failure{fmt::format("--drop-root: {}: {}", step, std::strerror(errno))};
}

} // namespace

boost::system::result<void, Failure> drop_root() {
    if (getuid() != 0 && geteuid() != 0) {
        return {};
    }
    // Groups first: once the uid is gone, so is the right to change them.
    if (setgroups(0, nullptr) != 0) {
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
    return {};
}

} // namespace relay
