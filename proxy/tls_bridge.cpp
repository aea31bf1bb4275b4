// See tls_bridge.hpp.
#include "proxy/tls_bridge.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/socket.h>

namespace proxy {
namespace {

using boost::asio::as_tuple;
using boost::asio::use_awaitable;
namespace ssl = boost::asio::ssl;
using TlsStream = ssl::stream<Socket>;

// Per direction: a TLS record carries at most 16 KiB of plaintext.
constexpr std::size_t shuttle_buffer = 16 * 1024;

struct Bridge {
    Bridge(Socket raw, ssl::context& ctx, Socket p, const BridgeLimits& limits)
        : tls(std::move(raw), ctx), plain(std::move(p)), idle(limits.idle), slot(limits.slot) {}
    TlsStream tls;
    Socket plain;
    // Both directions silent this long: closed (a peer that stops reading
    // must not hold two descriptors forever).
    std::chrono::steady_clock::duration idle;
    std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
    bool closing = false; // close_notify under way: no further TLS reads
    std::shared_ptr<void> slot;

    void close() {
        boost::system::error_code ignored;
        tls.next_layer().close(ignored);
        plain.close(ignored);
    }
};

// Decrypted bytes to the session; TLS EOF (close_notify or a plain close:
// registries and CDNs often skip close_notify, and the HTTP framing tells
// the session whether a message was cut short) half-closes the plain end.
boost::asio::awaitable<void> tls_to_plain(std::shared_ptr<Bridge> b) {
    std::array<char, shuttle_buffer> buf;
    while (!b->closing) {
        auto [ec, n] =
            co_await b->tls.async_read_some(boost::asio::buffer(buf), as_tuple(use_awaitable));
        if (n > 0) {
            b->last = std::chrono::steady_clock::now();
            auto [wec, w] = co_await boost::asio::async_write(
                b->plain, boost::asio::buffer(buf.data(), n), as_tuple(use_awaitable));
            if (wec)
                break;
        }
        if (ec)
            break;
    }
    boost::system::error_code ignored;
    b->plain.shutdown(Socket::shutdown_send, ignored);
}

// The session's bytes to TLS; the session's close sends close_notify
// (bounded: a peer that never reads must not hold the bridge), then the TLS
// socket closes, which ends the other direction too.
boost::asio::awaitable<void> plain_to_tls(std::shared_ptr<Bridge> b) {
    using namespace boost::asio::experimental::awaitable_operators;
    std::array<char, shuttle_buffer> buf;
    for (;;) {
        auto [ec, n] =
            co_await b->plain.async_read_some(boost::asio::buffer(buf), as_tuple(use_awaitable));
        if (n > 0) {
            b->last = std::chrono::steady_clock::now();
            auto [wec, w] = co_await boost::asio::async_write(
                b->tls, boost::asio::buffer(buf.data(), n), as_tuple(use_awaitable));
            if (wec)
                break;
        }
        if (ec)
            break;
    }
    // The other direction's read is cancelled first (and no new one
    // starts): close_notify may read too, and a TLS stream takes one read at
    // a time.
    b->closing = true;
    boost::system::error_code ignored;
    b->tls.next_layer().cancel(ignored);
    boost::asio::steady_timer timer(b->plain.get_executor(), std::chrono::seconds(1));
    co_await (b->tls.async_shutdown(as_tuple(use_awaitable)) ||
              timer.async_wait(as_tuple(use_awaitable)));
    b->close();
}

// Ends the bridge when neither direction has moved a byte for b->idle:
// closing both sockets ends every pending operation.
boost::asio::awaitable<void> watchdog(std::shared_ptr<Bridge> b) {
    boost::asio::steady_timer timer(b->plain.get_executor());
    for (;;) {
        timer.expires_at(b->last + b->idle);
        auto [ec] = co_await timer.async_wait(as_tuple(use_awaitable));
        if (ec)
            co_return; // the shuttle ended first
        if (std::chrono::steady_clock::now() >= b->last + b->idle) {
            b->close();
            co_return;
        }
    }
}

boost::asio::awaitable<void> shuttle(std::shared_ptr<Bridge> b) {
    using namespace boost::asio::experimental::awaitable_operators;
    co_await ((tls_to_plain(b) && plain_to_tls(b)) || watchdog(b));
    b->close();
}

// A connected pair: [0] for the session, [1] for the shuttle.
std::optional<std::array<Socket, 2>> socket_pair(const Socket::executor_type& ex,
                                                 std::string& problem) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0) {
        problem = fmt::format("socketpair: {}", std::strerror(errno));
        return std::nullopt;
    }
    std::array<Socket, 2> pair{Socket(ex), Socket(ex)};
    boost::asio::generic::stream_protocol unix_stream(AF_UNIX, 0);
    pair[0].assign(unix_stream, fds[0]);
    pair[1].assign(unix_stream, fds[1]);
    return pair;
}

std::string tls_message(const boost::system::error_code& ec) {
    if (ec.category() == boost::asio::error::get_ssl_category()) {
        std::array<char, 256> text{};
        ERR_error_string_n(static_cast<unsigned long>(ec.value()), text.data(), text.size());
        return text.data();
    }
    return ec.message();
}

// Handshake with a deadline, then the shuttle; `raw` is consumed either way
// once the handshake starts (a failed one closes it).
boost::asio::awaitable<std::optional<Socket>>
bridge(Socket& raw, ssl::context& ctx, TlsStream::handshake_type role, const std::string* host,
       const BridgeLimits& limits, std::string& problem) {
    using namespace boost::asio::experimental::awaitable_operators;
    auto ex = raw.get_executor();
    auto pair = socket_pair(ex, problem);
    if (!pair)
        co_return std::nullopt;
    auto b = std::make_shared<Bridge>(std::move(raw), ctx, std::move((*pair)[1]), limits);
    SSL_set_mode(b->tls.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    if (host) {
        if (!SSL_set_tlsext_host_name(b->tls.native_handle(), host->c_str())) {
            problem = fmt::format("cannot set SNI '{}'", *host);
            co_return std::nullopt;
        }
        b->tls.set_verify_mode(ssl::verify_peer);
        b->tls.set_verify_callback(ssl::host_name_verification(*host));
    }
    boost::asio::steady_timer timer(ex, tls_handshake_timeout);
    auto done = co_await (b->tls.async_handshake(role, as_tuple(use_awaitable)) ||
                          timer.async_wait(as_tuple(use_awaitable)));
    boost::system::error_code ignored;
    if (done.index() == 1) {
        problem =
            fmt::format("TLS handshake not finished within {} s", tls_handshake_timeout.count());
        b->tls.next_layer().close(ignored);
        co_return std::nullopt;
    }
    if (auto [ec] = std::get<0>(done); ec) {
        problem = fmt::format("TLS handshake failed: {}", tls_message(ec));
        b->tls.next_layer().close(ignored);
        co_return std::nullopt;
    }
    boost::asio::co_spawn(ex, shuttle(b), boost::asio::detached);
    co_return std::move((*pair)[0]);
}

} // namespace

boost::asio::awaitable<std::optional<Socket>> accept_tls(Socket& raw,
                                                         boost::asio::ssl::context& ctx,
                                                         const BridgeLimits& limits,
                                                         std::string& problem) {
    return bridge(raw, ctx, TlsStream::server, nullptr, limits, problem);
}

boost::asio::awaitable<std::optional<Socket>>
connect_tls(Socket& raw, boost::asio::ssl::context& ctx, const std::string& host,
            const BridgeLimits& limits, std::string& problem) {
    return bridge(raw, ctx, TlsStream::client, &host, limits, problem);
}

std::unique_ptr<boost::asio::ssl::context> make_client_context(const std::string& extra_ca) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (ec)
        throw std::runtime_error(
            fmt::format("cannot load the system's certificate authorities: {}", tls_message(ec)));
    if (!extra_ca.empty()) {
        ctx->load_verify_file(extra_ca, ec);
        if (ec)
            throw std::runtime_error(fmt::format("--upstream-ca {}: not a PEM certificate file: {}",
                                                 extra_ca, tls_message(ec)));
    }
    return ctx;
}

} // namespace proxy
