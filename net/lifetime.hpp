// Lifetime: how a relay or proxy daemon learns it may start serving others
// and when it must stop, shared by both programs.
//
//  --ready-fd N     once listening, write "ready\n" to fd N and close it, so a
//                   launcher can wait on a pipe instead of polling the socket.
//  --lifeline-fd N  stop as soon as fd N reads EOF: the launcher holds the
//                   write end of a pipe, and when it dies, even by SIGKILL, the
//                   kernel closes it and the daemon follows.
//  SIGTERM/SIGINT   stop gracefully.
//
// Stopping means calling the owner's callback once with the reason; the owner
// stops accepting, closes its listener (which unlinks the socket file) and
// lets the io_context run out. Lifetime ignores SIGPIPE for the whole process:
// a daemon must survive a reader that has gone away.
#pragma once

#include "net/failure.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/system/result.hpp>

#include <functional>
#include <optional>
#include <string>

namespace relay {

struct LifetimeOptions {
    std::optional<int> ready_fd;
    std::optional<int> lifeline_fd;
};

class Lifetime {
public:
    using StopCallback = std::function<void(std::string const& reason)>;

    Lifetime(boost::asio::io_context& ioc, LifetimeOptions options, StopCallback on_stop);
    Lifetime(Lifetime const&) = delete;
    Lifetime& operator=(Lifetime const&) = delete;

    // Starts watching signals and the lifeline. Fails if the lifeline fd cannot
    // be watched (not open, or a regular file, which epoll cannot wait on).
    boost::system::result<void, Failure> start();

    // Writes "ready\n" to the ready fd and closes it; later calls do nothing.
    // A reader that is gone is not an error (the daemon keeps serving).
    void ready();

    // Cancels the watchers without calling the callback (owner is stopping anyway).
    void cancel();

private:
    void watch_signals();
    void watch_lifeline();
    void fire(std::string const& reason);

    LifetimeOptions options_;
    StopCallback on_stop_;
    boost::asio::signal_set signals_;
    std::optional<boost::asio::posix::stream_descriptor> lifeline_;
    char lifeline_byte_ = 0;
    bool fired_ = false;
};

} // namespace relay
