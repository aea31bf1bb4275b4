// See log_dir.hpp.
#include "launch/log_dir.hpp"
#include "launch/setup_error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

namespace launch {

namespace {

// "is a symbolic link" for a link, else errno's own words.
std::string why_not_dir(int parent, const std::string& name, int err) {
    struct stat st;
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) {
            return "is a symbolic link (a log dir is reached without following links, so that "
                   "a cell cannot redirect the host's writes: give the resolved path)";
        }
        if (!S_ISDIR(st.st_mode)) {
            return "is not a directory";
        }
    }
    return std::strerror(err);
}

} // namespace

LogDir::LogDir(std::string path) : path_(std::move(path)) {
    if (path_.empty() || path_.front() != '/') {
        throw SetupError(fmt::format("the log dir '{}' is not an absolute path", path_));
    }
    Fd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
        throw_errno("cannot open /");
    }
    std::string walked;
    size_t begin = 1;
    while (begin <= path_.size()) {
        auto end = path_.find('/', begin);
        if (end == std::string::npos) {
            end = path_.size();
        }
        auto name = path_.substr(begin, end - begin);
        begin = end + 1;
        if (name.empty() || name == ".") {
            continue;
        }
        walked += "/" + name;
        if (name == "..") {
            throw SetupError(fmt::format("the log dir '{}' has a '..' component", path_));
        }
        Fd next(::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next) {
            int err = errno;
            auto why = why_not_dir(dir.get(), name, err);
            throw SetupError(walked == path_ ? fmt::format("{} {}", path_, why)
                                             : fmt::format("{}: {} {}", path_, walked, why));
        }
        dir = std::move(next);
    }
    fd_ = std::move(dir);
}

Fd LogDir::open_log(const std::string& name, bool fresh) const {
    // O_TRUNC only once it is known to be a regular file (ftruncate below):
    // never on a fifo or device planted under that name.
    Fd fd(::openat(fd_.get(), name.c_str(),
                   O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644));
    struct stat st;
    if (!fd) {
        int err = errno;
        if (::fstatat(fd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode)) {
            throw SetupError(fmt::format("cannot open {}: it is a symbolic link (the host never "
                                         "writes a log through a link: remove it)",
                                         file(name)));
        }
        errno = err;
        throw_errno("cannot open " + file(name));
    }
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        throw SetupError(fmt::format("cannot open {}: it is not a regular file (a fifo or a "
                                     "device would stall or redirect the host's writes: remove "
                                     "it)",
                                     file(name)));
    }
    // Regular files never block; the flag only kept a fifo from stalling us.
    ::fcntl(fd.get(), F_SETFL, O_APPEND);
    if (fresh && ::ftruncate(fd.get(), 0) != 0) {
        throw_errno("cannot empty " + file(name));
    }
    return fd;
}

Fd LogDir::open_read(const std::string& name) const {
    Fd fd(::openat(fd_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st;
    if (fd && (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))) {
        fd.reset();
    }
    return fd;
}

} // namespace launch
