#include "fd.hpp"
#include "error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>

namespace launch {

Pipe make_pipe(const char* what) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw_errno(std::string("cannot make the ") + what + " pipe");
    }
    return {Fd(fds[0]), Fd(fds[1])};
}

Fd open_regular(const char* path, int flags, mode_t mode) {
    Fd fd(::open(path, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, mode));
    struct stat st;
    if (fd && (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))) {
        fd.reset();
        errno = EINVAL;
    }
    return fd;
}

} // namespace launch
