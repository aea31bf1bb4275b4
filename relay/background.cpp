// Background mode: double fork, then the caller waits on a pipe; see
// background.hpp for why.
#include "relay/background.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace relay {
namespace {

constexpr std::string_view ready_word = "ready\n";

[[noreturn]] void die(std::string const& message) {
    std::fprintf(stderr, "relay: --background: %s\n", message.c_str());
    std::exit(1);
}

std::string read_all(int fd) {
    std::string text;
    char chunk[512];
    for (;;) {
        auto n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return text;
        }
        text.append(chunk, static_cast<std::size_t>(n));
    }
}

[[noreturn]] void exec_command(std::vector<std::string> const& command) {
    std::vector<char*> argv;
    for (auto const& arg : command) {
        argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "relay: --background: exec %s: %s\n", argv[0], std::strerror(errno));
    std::exit(127);
}

// Reads one line (at most a few bytes) from the gate; "go" opens it.
void pass_gate(int fd) {
    std::string line;
    char c = 0;
    while (line.size() < 16) {
        auto n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || c == '\n') {
            break;
        }
        line.push_back(c);
    }
    ::close(fd);
    if (line != "go") {
        die(fmt::format("--gate-fd: the launcher closed the gate{} (its host daemons did not "
                        "start, or it was killed)",
                        line.empty() ? "" : fmt::format(" with '{}'", line)));
    }
}

// In the caller: reap the intermediate child, wait for the daemon's word.
[[noreturn]] void wait_for_daemon(pid_t middle, int read_fd, Listener& listener,
                                  std::vector<std::string> const& command,
                                  std::optional<int> gate_fd) {
    int status = 0;
    while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
    }
    listener.release_path(); // the daemon owns the socket file now
    listener.close();        // and the caller's command must not inherit the socket
    auto word = read_all(read_fd);
    ::close(read_fd);
    if (word != ready_word) {
        die(word.empty() ? "the daemon exited before it was ready" : word);
    }
    if (gate_fd) {
        pass_gate(*gate_fd);
    }
    if (command.empty()) {
        std::exit(0);
    }
    exec_command(command);
}

// In the daemon: no terminal, stdin/stdout to /dev/null so that a caller
// reading our stdout sees EOF; stderr stays for error reports.
void detach_stdio() {
    ::setsid();
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::close(null);
    }
}

} // namespace

DaemonLink::~DaemonLink() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void DaemonLink::ready() {
    send(ready_word);
}

void DaemonLink::failed(std::string_view message) {
    send(message);
}

void DaemonLink::send(std::string_view text) {
    if (fd_ < 0) {
        return;
    }
    [[maybe_unused]] auto n = ::write(fd_, text.data(), text.size());
    ::close(std::exchange(fd_, -1));
}

void check_gate_fd(int fd) {
    if (::fcntl(fd, F_GETFD) < 0) {
        std::fprintf(stderr, "relay: --gate-fd %d: %s\n", fd, std::strerror(errno));
        std::exit(2);
    }
}

DaemonLink daemonize(boost::asio::io_context& ioc, Listener& listener,
                     std::vector<std::string> const& command, std::optional<int> gate_fd) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        die(std::string("pipe: ") + std::strerror(errno));
    }
    std::fflush(nullptr);
    pid_t middle = ::fork();
    if (middle < 0) {
        die(std::string("fork: ") + std::strerror(errno));
    }
    if (middle > 0) {
        ::close(fds[1]);
        wait_for_daemon(middle, fds[0], listener, command, gate_fd);
    }
    ::close(fds[0]);
    if (gate_fd) {
        ::close(*gate_fd); // the caller's alone: the daemon must not keep it open
    }
    detach_stdio();
    pid_t daemon = ::fork();
    if (daemon != 0) {
        _exit(daemon < 0 ? 1 : 0);
    }
    // Asio's reactor (epoll) must not be shared with the caller's copy.
    ioc.notify_fork(boost::asio::execution_context::fork_child);
    return DaemonLink(fds[1]);
}

} // namespace relay
