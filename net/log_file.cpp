// See log_file.hpp.
#include "net/log_file.hpp"

#include "common/syntax.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace relay {

namespace {

Failure failure(std::string_view flag, std::string const& spec, std::string_view why) {
    return Failure{fmt::format("{} {}: {}", flag, spec, why)};
}

boost::system::result<int, Failure> inherited(std::string const& spec, std::string_view flag) {
    auto parsed = common::parse_fd(std::string_view(spec).substr(3), 0);
    if (!parsed) {
        return failure(flag, spec, "fd:N takes a file descriptor number");
    }
    int fd = *parsed;
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) {
        return failure(flag, spec, "that descriptor is not open");
    }
    if ((flags & O_ACCMODE) == O_RDONLY) {
        return failure(flag, spec, "that descriptor is open read-only");
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    ::fcntl(fd, F_SETFL, (flags | O_APPEND) & ~O_NONBLOCK);
    return fd;
}

} // namespace

boost::system::result<int, Failure> open_log_file(std::string const& spec, std::string_view flag) {
    if (spec.rfind("fd:", 0) == 0) {
        return inherited(spec, flag);
    }
    int fd = ::open(spec.c_str(),
                    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        struct stat st {};
        if (::lstat(spec.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
            return failure(flag, spec,
                           "is a symbolic link (a log is never written through a link; "
                           "use fd:N to log elsewhere)");
        }
        return failure(flag, spec, std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return failure(flag, spec,
                       "is not a regular file (use fd:N to log to a pipe or a terminal)");
    }
    ::fcntl(fd, F_SETFL, O_APPEND);
    return fd;
}

} // namespace relay
