#include "error.hpp"
#include "fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>

namespace launch {

void throw_errno(const std::string& what) {
    throw SetupError(what + ": " + std::strerror(errno));
}

Pipe make_pipe(const char* what) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw_errno(std::string("cannot make the ") + what + " pipe");
    }
    return {Fd(fds[0]), Fd(fds[1])};
}

} // namespace launch
