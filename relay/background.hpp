// Background mode (--background): the caller's process binds the listener,
// a detached daemon serves it, and the caller goes on to exec COMMAND (or
// exit) only once the daemon is accepting.
//
// Why a double fork: the daemon must not be the caller's child, or the caller
// (which may become a user's command that never calls wait(2)) would have to
// reap it. The intermediate child exits at once and is reaped here, so the
// daemon is reparented to init (or to bwrap's pid 1 inside a jail).
#pragma once

#include "net/listener.hpp"

#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay {

// The daemon's end of the pipe back to the waiting caller.
class DaemonLink {
public:
    explicit DaemonLink(int fd) : fd_(fd) {}
    DaemonLink(DaemonLink&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    DaemonLink(DaemonLink const&) = delete;
    DaemonLink& operator=(DaemonLink const&) = delete;
    DaemonLink& operator=(DaemonLink&&) = delete;
    ~DaemonLink();

    void ready();                          // the caller proceeds
    void failed(std::string_view message); // the caller prints it and exits 1

private:
    void send(std::string_view text);
    int fd_;
};

// Forks the daemon. Returns only in the daemon (with its link to the caller).
// In the caller it waits for the daemon's word and, with a gate fd, for the
// line "go" on it (the cell launcher starts bwrap while its host daemons are
// still starting, and opens the gate once they are ready), then execs
// `command` (or exits 0 when empty). If the daemon fails or the gate closes
// without "go", it prints why and exits 1.
DaemonLink daemonize(boost::asio::io_context& ioc, Listener& listener,
                     std::vector<std::string> const& command, std::optional<int> gate_fd);

// Fails (exit 2, naming the option) unless fd is open: checked before
// anything is bound.
void check_gate_fd(int fd);

} // namespace relay
