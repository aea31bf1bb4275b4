// See session.hpp. This file: the request loop, the watchdog, refusals and
// access-log records.
#include "proxy/session.hpp"

#include "net/connector.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <sys/socket.h>

namespace proxy {
namespace {

using boost::asio::as_tuple;
using boost::asio::use_awaitable;

// Methods a proxy forwards: RFC 9110's, PATCH, and WebDAV/DeltaV (git and
// svn over HTTP use some). Anything else gets 501.
constexpr std::array<std::string_view, 22> known_methods = {
    "GET",      "HEAD",      "POST",     "PUT",        "DELETE",  "OPTIONS", "TRACE",  "PATCH",
    "PROPFIND", "PROPPATCH", "MKCOL",    "COPY",       "MOVE",    "LOCK",    "UNLOCK", "REPORT",
    "SEARCH",   "MERGE",     "CHECKOUT", "MKACTIVITY", "CONNECT", "ACL"};

// Never blocks: a client that does not read its 408 does not hold the session.
void send_now(Socket& s, std::string_view bytes) {
    [[maybe_unused]] auto n =
        ::send(s.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

Refusal bad_request(std::string details) {
    return {{400, "http_request_error", std::move(details), {}}, "bad_request", true};
}

} // namespace

std::string peer_name(const Socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec)
        return "unknown";
    return endpoint_name(ep);
}

std::string endpoint_name(const Socket::endpoint_type& ep) {
    if (ep.protocol().family() == AF_INET || ep.protocol().family() == AF_INET6) {
        boost::asio::ip::tcp::endpoint tcp;
        std::memcpy(tcp.data(), ep.data(), std::min<std::size_t>(ep.size(), sizeof(sockaddr_in6)));
        auto a = tcp.address();
        return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), tcp.port())
                         : fmt::format("{}:{}", a.to_string(), tcp.port());
    }
    return "unix";
}

Session::Session(std::shared_ptr<ProxyContext> ctx, Socket client, Service service)
    : ctx_(std::move(ctx)), service_(std::move(service)),
      answers_http_(service_.kind == Service::Kind::http ||
                    service_.kind == Service::Kind::intercepted),
      client_(std::move(client)), upstream_(client_.get_executor()),
      watchdog_(client_.get_executor()), idle_(ctx_->options.timeouts.idle) {
    // An intercepted session's client is a socketpair: name the real one.
    client_name_ = service_.client.empty() ? peer_name(client_) : service_.client;
    // Heads and small responses are single writes, which Nagle would hold:
    // the client socket has TCP_NODELAY from the listener (net/listener).
}

boost::asio::awaitable<void> run_session(std::shared_ptr<ProxyContext> ctx, Socket client,
                                         Service service) {
    // Shared so the watchdog's timer callback can tell whether it outlived us.
    auto s = std::make_shared<Session>(std::move(ctx), std::move(client), std::move(service));
    co_await s->run();
}

boost::asio::awaitable<void> Session::run() {
    set_phase(Phase::head, ctx_->options.timeouts.head);
    switch (service_.kind) {
    case Service::Kind::http:
    case Service::Kind::intercepted:
        co_await serve();
        break;
    case Service::Kind::socks:
        co_await socks();
        break;
    case Service::Kind::forward:
        co_await port_forward();
        break;
    }
    watchdog_.cancel();
    --ctx_->active; // counted by the accept loop
    if (record_)
        finish_record();
    boost::system::error_code ignored;
    client_.close(ignored);
    upstream_.close(ignored);
}

void Session::set_phase(Phase p, Clock::duration budget) {
    phase_ = p;
    deadline_ = budget == Clock::duration::max() ? Clock::time_point::max() : Clock::now() + budget;
    // The timer only ever fires early and re-arms, so it must be moved when
    // a deadline comes sooner (a keep-alive head after a long response).
    if (deadline_ < watchdog_.expiry() || !watchdog_armed_)
        arm_watchdog();
}

void Session::touch() {
    deadline_ = Clock::now() + idle_;
}

// A plain timer callback rather than a coroutine raced with `||`: an idle
// tunnel then costs one timer, not two spawned coroutine threads.
void Session::arm_watchdog() {
    watchdog_armed_ = true;
    watchdog_.expires_at(deadline_);
    watchdog_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self)
            return;
        self->watchdog_armed_ = false;
        if (Clock::now() < self->deadline_) {
            self->arm_watchdog();
            return;
        }
        self->on_timeout();
    });
}

void Session::on_timeout() {
    boost::system::error_code ignored;
    if (timed_out_) { // second firing: the lingering after the answer is over
        client_.close(ignored);
        return;
    }
    auto answer = [&](int status, std::string_view type, std::string details) {
        if (answers_http_)
            send_now(client_, render_error({status, type, details, {}}));
        if (record_) {
            record_->status = status;
            record_->reason = std::move(details);
        }
    };
    switch (phase_) {
    case Phase::head:
        if (head_have_ > 0) {
            begin_record("-", "", 0);
            answer(408, "http_request_error", "request head not received in time");
            record_->allowed = false;
        }
        break;
    case Phase::connect:
        answer(504, "connection_timeout", "connecting to the destination timed out");
        break;
    case Phase::awaiting_response:
        answer(504, "http_response_timeout", "the destination did not answer in time");
        break;
    case Phase::streaming:
    case Phase::tunnel:
        if (record_)
            record_->reason = "idle_timeout";
        break;
    }
    // Closing upstream aborts a connect or response wait; the client gets a
    // half-close and a second of draining (a reset could destroy the answer),
    // then the second firing closes it. timed_out_ keeps the session from
    // answering again or starting another request meanwhile.
    timed_out_ = true;
    upstream_.close(ignored);
    client_.shutdown(Socket::shutdown_send, ignored);
    deadline_ = Clock::now() + std::chrono::seconds(1);
    arm_watchdog();
}

boost::asio::awaitable<void> Session::serve() {
    try {
        while (!timed_out_ && co_await one_request()) {
        }
    } catch (const std::exception& e) {
        // After a watchdog timeout the cancelled session lands here too; keep
        // the timeout's reason then.
        if (record_ && record_->reason.empty())
            record_->reason = fmt::format("error: {}", e.what());
    }
}

// A body copy grows a buffer to 64 KiB; an idle keep-alive client (or a
// tunnel) must not keep that much, so large, mostly empty buffers shrink.
void Session::trim_buffers() {
    for (auto* b : {&cbuf_, &ubuf_}) {
        if (b->empty())
            std::string().swap(*b);
        else if (b->capacity() > 16 * 1024 && b->size() < 4 * 1024)
            b->shrink_to_fit();
    }
}

boost::asio::awaitable<bool> Session::one_request() {
    trim_buffers();
    set_phase(Phase::head, ctx_->options.timeouts.head);
    auto head = co_await read_head(client_, cbuf_, max_head_bytes, head_have_);
    if (timed_out_)
        co_return false;
    if (head.status == HeadStatus::closed_clean || head.status == HeadStatus::closed_partial)
        co_return false;
    if (head.status == HeadStatus::too_large) {
        {
            const Refusal named = {
                {431, "http_request_error", "request head larger than 64 KiB", {}},
                "head_too_large"};
            co_await refuse(named);
        }
        co_return false;
    }
    auto req = parse_request_head(std::string_view(cbuf_).substr(0, head.size));
    cbuf_.erase(0, head.size);
    if (!req) {
        bool big = req.error().kind == HeadError::too_large;
        {
            const Refusal named = {{big ? 431 : 400, "http_request_error", req.error().text, {}},
                                   big ? "head_too_large" : "bad_request"};
            co_await refuse(named);
        }
        co_return false;
    }
    policy_ = ctx_->policy.load(); // one snapshot per request; SIGHUP swaps the pointer
    if (std::find(known_methods.begin(), known_methods.end(), req->method) == known_methods.end()) {
        {
            const Refusal named = {
                {501,
                 "http_request_error",
                 fmt::format("method '{}' is not supported by this proxy", req->method),
                 {}},
                "unknown_method"};
            co_await refuse(named);
        }
        co_return false;
    }
    if (service_.kind == Service::Kind::intercepted) {
        // Requests inside an intercepted TLS connection are origin-form, to
        // the one registry the client connected to.
        if (req->method != "CONNECT" && req->target.starts_with('/'))
            co_return co_await forward(*req);
        {
            const Refusal named =
                bad_request("inside a TLS connection to a registry, send origin-form requests");
            co_await refuse(named);
        }
        co_return false;
    }
    if (req->method == "CONNECT") {
        co_await tunnel(*req);
        co_return false;
    }
    if (req->target.starts_with('/') || req->target == "*") {
        {
            const Refusal named = bad_request(
                "this is a proxy: send absolute-form requests (GET http://host/path) or CONNECT "
                "host:port, with the proxy configured as HTTP_PROXY/HTTPS_PROXY");
            co_await refuse(named);
        }
        co_return false;
    }
    co_return co_await forward(*req);
}

boost::asio::awaitable<void> Session::refuse(const Refusal& r) {
    refusal_ = r;
    return send_refusal();
}

boost::asio::awaitable<void> Session::send_refusal() {
    if (timed_out_)
        co_return; // the watchdog has answered already
    const auto& r = refusal_;
    if (!record_)
        begin_record("-", "", 0);
    record_->allowed = !r.denied;
    record_->reason = r.reason;
    record_->status = r.error.status;
    auto bytes = render_error(r.error);
    record_->bytes_down += bytes.size();
    if (r.denied)
        ctx_->refusals.write(*record_); // before the client hears of it
    set_phase(Phase::streaming, idle_);
    co_await write_all(client_, bytes);
    finish_record();
    if (!exchanging_)
        co_await linger();
}

// Closing right after an error while the client is still sending (a 70 KB
// head, a body) makes the kernel send RST, which can destroy the error
// response in the client's receive buffer. So: half-close, then read and
// discard for a moment before the full close (what nginx calls lingering).
boost::asio::awaitable<void> Session::linger() {
    boost::system::error_code ec;
    client_.shutdown(Socket::shutdown_send, ec);
    set_phase(Phase::streaming, std::chrono::seconds(1));
    std::size_t drained = 0;
    while (!ec && drained < 1024 * 1024) {
        cbuf_.clear();
        drained += co_await read_more(client_, cbuf_, 64 * 1024, ec);
    }
}

void Session::begin_record(std::string_view method, std::string_view host, std::uint16_t port) {
    record_.emplace();
    record_->time = std::chrono::system_clock::now();
    record_->client = client_name_;
    record_->method = method;
    record_->host = host;
    record_->port = port;
    record_start_ = Clock::now();
}

void Session::finish_record() {
    if (!record_)
        return;
    record_->duration_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - record_start_)
            .count());
    ctx_->log.write(*record_);
    record_.reset();
}

} // namespace proxy
