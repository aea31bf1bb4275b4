// Lifetime: ready fd, lifeline fd and termination signals; see lifetime.hpp.
#include "net/lifetime.hpp"

#include <boost/asio/buffer.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace relay {

Lifetime::Lifetime(boost::asio::io_context& ioc, LifetimeOptions options, StopCallback on_stop)
    : options_(options), on_stop_(std::move(on_stop)), signals_(ioc, SIGTERM, SIGINT) {
    ::signal(SIGPIPE, SIG_IGN);
    if (options_.lifeline_fd) {
        lifeline_.emplace(ioc);
    }
}

boost::system::result<void, Failure> Lifetime::start() {
    if (options_.lifeline_fd) {
        int fd = *options_.lifeline_fd;
        if (::fcntl(fd, F_GETFD) < 0) {
            return Failure{fmt::format("--lifeline-fd {}: {}", fd, std::strerror(errno))};
        }
        ::fcntl(fd, F_SETFD, FD_CLOEXEC); // never leak the lifeline into children
        boost::system::error_code ec;
        if (lifeline_->assign(fd, ec); ec) {
            return Failure{fmt::format("--lifeline-fd {}: cannot watch it: {}", fd, ec.message())};
        }
        watch_lifeline();
    }
    watch_signals();
    return {};
}

void Lifetime::ready() {
    if (!options_.ready_fd) {
        return;
    }
    int fd = *std::exchange(options_.ready_fd, std::nullopt);
    static constexpr char line[] = "ready\n";
    // Blocking write of 6 bytes to a pipe: cannot stall unless the pipe is full,
    // which a launcher that waits for this line never lets happen.
    [[maybe_unused]] auto n = ::write(fd, line, sizeof line - 1);
    ::close(fd);
}

void Lifetime::cancel() {
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    if (lifeline_) {
        lifeline_->cancel(ignored);
    }
}

void Lifetime::watch_signals() {
    signals_.async_wait([this](boost::system::error_code ec, int signo) {
        if (!ec) {
            fire(fmt::format("signal {}", signo == SIGTERM ? "SIGTERM" : "SIGINT"));
        }
    });
}

// Any bytes on the lifeline are ignored; only EOF or an error means "stop".
void Lifetime::watch_lifeline() {
    lifeline_->async_read_some(boost::asio::buffer(&lifeline_byte_, 1),
                               [this](boost::system::error_code ec, std::size_t) {
                                   if (ec == boost::asio::error::operation_aborted) {
                                       return;
                                   }
                                   if (ec) {
                                       fire("lifeline closed");
                                       return;
                                   }
                                   watch_lifeline();
                               });
}

void Lifetime::fire(std::string const& reason) {
    if (fired_) {
        return;
    }
    fired_ = true;
    cancel();
    on_stop_(reason);
}

} // namespace relay
