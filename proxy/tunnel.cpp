// Session: CONNECT. Policy, upstream, `200 Connection established`, then the
// SNI check on the client's first TLS record, then the byte pump (net/pump.hpp) carries the
// tunnel (with the bytes the client already sent after the head).
#include "proxy/session.hpp"

#include "proxy/image_cache.hpp"
#include "proxy/tls_bridge.hpp"
#include "proxy/tls_sni.hpp"

#include "net/pump.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <algorithm>

#include <sys/socket.h>

namespace proxy {
namespace {

constexpr std::string_view established = "HTTP/1.1 200 Connection established\r\n\r\n";
constexpr std::size_t max_client_hello = 64 * 1024;
// Per direction, allocated by the pump only once bytes flow (idle tunnels
// cost nothing). Larger than relay's default: bulk downloads through a cell
// are the common case and each read/write pair is two syscalls.
constexpr std::size_t tunnel_buffer = 256 * 1024;

} // namespace

boost::asio::awaitable<void> Session::tunnel(const RequestHead& req) {
    auto target = parse_authority_form(req.target);
    begin_record("CONNECT", target ? target->host.name : req.target, target ? target->port : 0);
    if (!target) {
        {
            const Refusal named = {{400, "http_request_error", target.error(), {}}, "bad_target"};
            co_await refuse(named);
        }
        co_return;
    }
    if (auto no = check_policy(*target, true)) {
        co_await refuse(*no);
        co_return;
    }
    if (ctx_->cache && ctx_->cache->caches(*target)) {
        co_await intercept(*target);
        co_return;
    }
    if (auto no = co_await open_upstream(*target)) {
        co_await refuse(*no);
        co_return;
    }
    set_phase(Phase::streaming, idle_);
    if (co_await write_all(client_, established))
        co_return;
    record_->status = 200;
    record_->bytes_down = established.size();
    trim_buffers();
    if (!co_await sni_allows(*target))
        co_return;
    co_await pump_tunnel();
}

boost::asio::awaitable<void> Session::pump_tunnel() {
    set_phase(Phase::tunnel, Clock::duration::max()); // the pump has its own idle timeout
    cbuf_.shrink_to_fit(); // held (as the initial bytes) for the tunnel's lifetime
    auto initial = std::as_bytes(std::span(cbuf_.data(), cbuf_.size()));
    auto result =
        co_await relay::pump(client_, upstream_, relay::PumpOptions{idle_, tunnel_buffer}, initial);
    record_->bytes_up += result.a_to_b;
    record_->bytes_down += result.b_to_a;
    if (result.idle_timeout)
        record_->reason += "; idle_timeout";
    else if (result.error)
        record_->reason += fmt::format("; {}", result.error.message());
}

// The SNI rule of every tunnel: a ClientHello must name the CONNECT host
// (or no host at all). Bytes that are not TLS pass through a plain tunnel,
// but not an intercepted one, where the proxy is about to speak TLS.
// Nullopt: the hello is not complete yet.
std::optional<bool> Session::judge_hello(const SniResult& hello, const Target& target,
                                         bool intercepting) {
    using S = SniResult::Status;
    switch (hello.status) {
    case S::need_more:
        return std::nullopt;
    case S::no_sni:
        return true;
    case S::not_tls:
        if (!intercepting)
            return true;
        record_->reason = "intercept: not TLS, and the image cache terminates TLS here";
        break;
    case S::sni:
        if (hello.name == target.host.name)
            return true;
        record_->reason = fmt::format("sni_mismatch: {}", hello.name);
        break;
    case S::malformed:
        record_->reason = fmt::format("tls_malformed: {}", hello.problem);
        break;
    }
    record_->allowed = false;
    return false;
}

// Waits for whoever speaks first. A client that speaks first must send a
// TLS ClientHello naming the CONNECT host, or something that is not TLS at
// all; a server that speaks first (SSH, SMTP on an allowed port) has no SNI.
boost::asio::awaitable<bool> Session::sni_allows(const Target& target) {
    using namespace boost::asio::experimental::awaitable_operators;
    using boost::asio::use_awaitable;
    if (cbuf_.empty()) {
        // A client usually speaks right after the 200: one recv(2) finds
        // its bytes, where arming two waits costs two epoll_ctl(2) calls.
        switch (read_now(client_, cbuf_, 2048)) {
        case ReadNow::got:
            break;
        case ReadNow::closed:
            co_return false;
        case ReadNow::nothing: {
            auto first = co_await (client_.async_wait(Socket::wait_read, use_awaitable) ||
                                   upstream_.async_wait(Socket::wait_read, use_awaitable));
            if (first.index() == 1)
                co_return true;
        }
        }
    }
    set_phase(Phase::streaming, ctx_->options.timeouts.head);
    for (;;) {
        auto hello = inspect_client_hello(
            std::span(reinterpret_cast<const std::uint8_t*>(cbuf_.data()), cbuf_.size()));
        if (auto verdict = judge_hello(hello, target, false))
            co_return *verdict;
        // Small reads: a ClientHello is usually under 2 KiB, and whatever
        // capacity this buffer gets, the tunnel keeps for its lifetime.
        boost::system::error_code ec;
        auto chunk = std::clamp<std::size_t>(cbuf_.size(), 2048, 16 * 1024);
        if (cbuf_.size() >= max_client_hello ||
            co_await read_more(client_, cbuf_, std::min(chunk, max_client_hello - cbuf_.size()),
                               ec) == 0)
            co_return false;
    }
}

// The image cache's side of a CONNECT to a registry it keeps: answer 200,
// check the ClientHello's SNI as for any tunnel (peeked, so the TLS stack
// reads it whole), complete the handshake with a leaf for the CONNECT host
// signed by the user's CA, and hand the decrypted stream to a session of
// its own. No upstream connection is made here: each request inside opens
// one, through the same address policy.
boost::asio::awaitable<void> Session::intercept(const Target& target) {
    set_phase(Phase::streaming, idle_);
    if (!cbuf_.empty()) {
        // TLS bytes sent before our 200: a client that does not wait for
        // the proxy's answer; nothing to intercept safely.
        record_->allowed = false;
        record_->reason = "intercept: client sent data before the CONNECT was answered";
        co_return;
    }
    if (co_await write_all(client_, established))
        co_return;
    record_->status = 200;
    record_->bytes_down = established.size();
    if (!co_await peek_sni_allows(target))
        co_return;
    std::shared_ptr<boost::asio::ssl::context> tls;
    try {
        tls = ctx_->cache->ca().server_context(target.host.name);
    } catch (const std::exception& e) {
        record_->reason += fmt::format("; intercept: {}", e.what());
        co_return;
    }
    set_phase(Phase::tunnel, Clock::duration::max()); // accept_tls has its own deadline
    // The bridge holds a connection slot of its own until it ends, so
    // --max-connections bounds the descriptors intercepted clients hold.
    ++ctx_->active;
    const BridgeLimits limits{
        idle_, std::shared_ptr<void>(nullptr, [ctx = ctx_](void*) { --ctx->active; })};
    std::string problem;
    auto plain = co_await accept_tls(client_, *tls, limits, problem);
    if (!plain) {
        record_->reason += fmt::format("; intercept: {}", problem);
        co_return;
    }
    record_->reason += "; intercepted for the image cache";
    ++ctx_->active; // the new session ends with --active, like any other
    Service inner{Service::Kind::intercepted, target, client_name_};
    boost::asio::co_spawn(client_.get_executor(),
                          run_session(ctx_, std::move(*plain), std::move(inner)),
                          boost::asio::detached);
}

// sni_allows for an intercepted CONNECT: the same rules, but read with
// MSG_PEEK, since the ClientHello must reach the TLS handshake intact, and
// the client must speak TLS (the proxy is about to).
boost::asio::awaitable<bool> Session::peek_sni_allows(const Target& target) {
    using boost::asio::as_tuple;
    using boost::asio::use_awaitable;
    set_phase(Phase::streaming, ctx_->options.timeouts.head);
    std::string peeked(max_client_hello, '\0');
    std::size_t last = 0;
    boost::asio::steady_timer pause(client_.get_executor());
    for (;;) {
        auto [ec] = co_await client_.async_wait(Socket::wait_read, as_tuple(use_awaitable));
        if (ec)
            co_return false;
        auto n =
            ::recv(client_.native_handle(), peeked.data(), peeked.size(), MSG_PEEK | MSG_DONTWAIT);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            co_return false;
        }
        auto got = static_cast<std::size_t>(n);
        auto hello = inspect_client_hello(
            std::span(reinterpret_cast<const std::uint8_t*>(peeked.data()), got));
        if (auto verdict = judge_hello(hello, target, true))
            co_return *verdict;
        if (got >= max_client_hello)
            co_return false;
        // Peeked bytes stay readable, so a wait would return at once: pause
        // until more of the hello can have arrived (it is one segment but
        // for the rarest clients).
        if (got == last) {
            pause.expires_after(std::chrono::milliseconds(5));
            co_await pause.async_wait(as_tuple(use_awaitable));
        }
        last = got;
    }
}

} // namespace proxy
