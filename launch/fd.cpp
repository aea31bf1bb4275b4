#include "launch/fd.hpp"
#include "launch/setup_error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <dirent.h>
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

bool write_all(int fd, std::string_view text) noexcept {
    while (!text.empty()) {
        auto n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        text.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

bool ensure_stdio() noexcept {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) {
            continue;
        }
        // The lowest free number: fd itself, as the ones below it are open.
        int null = ::open("/dev/null", O_RDWR);
        if (null < 0) {
            return false;
        }
        if (null != fd) {
            int moved = ::dup2(null, fd);
            ::close(null);
            if (moved < 0) {
                return false;
            }
        }
    }
    return true;
}

bool close_fds_except(std::vector<int> keep) noexcept {
    std::sort(keep.begin(), keep.end());
    bool ok = true;
    unsigned from = 0;
    for (int fd : keep) {
        if (fd >= 0 && static_cast<unsigned>(fd) > from) {
            ok = ok && ::close_range(from, static_cast<unsigned>(fd) - 1, 0) == 0;
        }
        from = std::max(from, static_cast<unsigned>(fd) + 1);
    }
    if (ok && ::close_range(from, ~0U, 0) == 0) {
        return true;
    }
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) {
        return false;
    }
    std::vector<int> open;
    while (auto* entry = ::readdir(dir)) {
        char* end = nullptr;
        long fd = std::strtol(entry->d_name, &end, 10);
        if (*end == '\0' && end != entry->d_name && fd != ::dirfd(dir)) {
            open.push_back(static_cast<int>(fd));
        }
    }
    ::closedir(dir);
    for (int fd : open) {
        if (!std::binary_search(keep.begin(), keep.end(), fd)) {
            ::close(fd);
        }
    }
    return true;
}

} // namespace launch
