// Fd: one owned file descriptor, closed when it goes out of scope. Every fd
// cell-launch opens is O_CLOEXEC, so nothing reaches bwrap or a daemon unless
// a spawn names it (see spawn.hpp).
#pragma once

#include <unistd.h>
#include <utility>

namespace launch {

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.fd_, -1));
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// A pipe whose both ends are O_CLOEXEC; throws SystemError naming `what`.
struct Pipe {
    Fd read;
    Fd write;
};
Pipe make_pipe(const char* what);

} // namespace launch
