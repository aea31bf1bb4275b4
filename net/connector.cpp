// Connector: see connector.hpp.
#include "net/connector.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <sys/socket.h>

namespace relay {
namespace {

using generic = boost::asio::generic::stream_protocol;
using boost::asio::as_tuple;
using boost::asio::use_awaitable;

// How long a Unix connect waits for room in a full listen backlog.
constexpr auto unix_backlog_wait = std::chrono::seconds(30);
constexpr auto unix_retry_max = std::chrono::milliseconds(100);

// Closes `socket` if open and opens it anew for `protocol`, non-blocking for
// the raw connect(2) (Asio's own flag, so no later operation sets it again).
boost::system::error_code reopen(generic::socket& socket, generic const& protocol) {
    boost::system::error_code ec;
    socket.close(ec);
    if (socket.open(protocol, ec); !ec) {
        socket.native_non_blocking(true, ec);
    }
    return ec;
}

// A non-blocking connect to a Unix stream socket whose listen backlog is full
// (a busy nix-daemon, which accepts and forks one connection at a time) fails
// at once with EAGAIN and never completes later. Asio takes EAGAIN for "in
// progress", waits for writability (immediate on an unconnected Unix socket),
// reads SO_ERROR 0 and reports success on a socket that is not connected; the
// pump then fails with EINVAL and the client is dropped. A blocking connect
// (socat, the nix client itself) waits for room instead, so retry like that,
// with back-off, for up to unix_backlog_wait.
boost::asio::awaitable<boost::system::error_code> connect_unix(generic::socket& socket,
                                                               generic::endpoint const& to) {
    if (auto ec = reopen(socket, to.protocol()); ec) {
        co_return ec;
    }
    boost::asio::steady_timer timer(socket.get_executor());
    auto delay = std::chrono::milliseconds(1);
    auto const deadline = std::chrono::steady_clock::now() + unix_backlog_wait;
    for (;;) {
        if (::connect(socket.native_handle(), to.data(), static_cast<socklen_t>(to.size())) == 0) {
            co_return boost::system::error_code{};
        }
        int const err = errno;
        if (err == EINTR) {
            continue;
        }
        if (err != EAGAIN || std::chrono::steady_clock::now() >= deadline) {
            co_return boost::system::error_code(err, boost::system::system_category());
        }
        timer.expires_after(delay);
        co_await timer.async_wait(as_tuple(use_awaitable));
        delay = std::min(delay * 2, unix_retry_max);
    }
}

boost::asio::awaitable<boost::system::error_code> connect_tcp(generic::socket& socket,
                                                              Endpoint const& target) {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(target.host, ec);
    if (!ec) {
        co_return co_await connect_socket(socket,
                                          boost::asio::ip::tcp::endpoint(address, target.port));
    }
    boost::asio::ip::tcp::resolver resolver(socket.get_executor());
    auto [resolve_ec, results] = co_await resolver.async_resolve(
        target.host, std::to_string(target.port), as_tuple(use_awaitable));
    if (resolve_ec) {
        co_return resolve_ec;
    }
    ec = boost::asio::error::host_not_found;
    for (auto const& entry : results) {
        ec = co_await connect_socket(socket, entry.endpoint());
        if (!ec) {
            break;
        }
    }
    co_return ec;
}

} // namespace

boost::asio::awaitable<boost::system::error_code> connect_socket(generic::socket& socket,
                                                                 generic::endpoint const& to) {
    if (auto ec = reopen(socket, to.protocol()); ec) {
        co_return ec;
    }
    int const fd = socket.native_handle();
    if (::connect(fd, to.data(), static_cast<socklen_t>(to.size())) == 0) {
        co_return boost::system::error_code{};
    }
    if (errno != EINPROGRESS && errno != EINTR) { // EINTR: the connect goes on regardless
        co_return boost::system::error_code(errno, boost::system::system_category());
    }
    // On loopback the handshake has run inside connect(2), which still says
    // EINPROGRESS: a peer name means connected. Waiting would also leave
    // EPOLLOUT in the socket's epoll registration for good (Asio adds it for
    // a write wait and never takes it off), and every ACK would then wake
    // the loop.
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) {
        co_return boost::system::error_code{};
    }
    auto [wait_ec] =
        co_await socket.async_wait(generic::socket::wait_write, as_tuple(use_awaitable));
    if (wait_ec) {
        co_return wait_ec;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        err = errno;
    }
    co_return boost::system::error_code(err, boost::system::system_category());
}

boost::asio::awaitable<boost::system::error_code> connect_endpoint(generic::socket& socket,
                                                                   Endpoint const& target) {
    boost::system::error_code ec;
    if (target.is_unix()) {
        ec = co_await connect_unix(socket,
                                   boost::asio::local::stream_protocol::endpoint(target.path));
    } else {
        ec = co_await connect_tcp(socket, target);
    }
    if (!ec) {
        set_no_delay_if_tcp(socket);
    }
    co_return ec;
}

void set_no_delay_if_tcp(generic::socket& socket) {
    // One call, not two: a Unix socket refuses the option (EOPNOTSUPP), which
    // is cheaper than asking its family first (this runs per connection).
    int one = 1;
    (void)::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

} // namespace relay
