// See server.hpp.
#include "proxy/server.hpp"

#include "proxy/session.hpp"
#include "proxy/status_page.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <csignal>

#include <sys/socket.h>

namespace proxy {
namespace {

using boost::asio::as_tuple;
using boost::asio::use_awaitable;

// After an accept error such as EMFILE, wait before retrying instead of spinning.
constexpr auto accept_backoff = std::chrono::milliseconds(100);

} // namespace

Server::Server(boost::asio::io_context& ioc, std::vector<relay::Listener> listeners,
               std::vector<Service> services, std::shared_ptr<ProxyContext> ctx, Role role)
    : ioc_(ioc), listeners_(std::move(listeners)), services_(std::move(services)),
      ctx_(std::move(ctx)), role_(role), hangup_(ioc) {
    if (role_ == Role::main)
        hangup_.add(SIGHUP);
}

void Server::start() {
    for (std::size_t i = 0; i < listeners_.size(); ++i)
        boost::asio::co_spawn(
            ioc_, accept_loop(listeners_[i], services_.at(i), ctx_->accept_failures.at(i)),
            boost::asio::detached);
    if (role_ == Role::main)
        watch_reload();
}

void Server::stop(const std::string& reason) {
    if (stopping_)
        return;
    stopping_ = true;
    if (role_ == Role::main)
        fmt::print(stderr, "proxy: stopping ({})\n", reason);
    for (auto& l : listeners_)
        l.close();
    boost::system::error_code ignored;
    hangup_.cancel(ignored);
    ioc_.stop();
}

boost::asio::awaitable<void> Server::accept_loop(relay::Listener& listener, const Service& service,
                                                 relay::AcceptFailures& failures) {
    boost::asio::steady_timer backoff(ioc_);
    while (!stopping_) {
        Socket::endpoint_type peer; // filled by accept(2) itself
        const auto ticket = failures.ticket();
        auto [ec, client] =
            co_await listener.acceptor().async_accept(peer, as_tuple(use_awaitable));
        if (stopping_)
            break;
        if (ec) {
            // Once per run of failures over every loop (net/accept_failures).
            if (failures.failed(ticket))
                fmt::print(stderr, "proxy: accept on {}: {}; retrying every {} ms\n",
                           listener.endpoint().text, ec.message(), accept_backoff.count());
            backoff.expires_after(accept_backoff);
            co_await backoff.async_wait(as_tuple(use_awaitable));
            continue;
        }
        if (auto run = failures.succeeded(ticket); run > 0)
            fmt::print(stderr, "proxy: accept on {}: accepting again after {} failed attempts\n",
                       listener.endpoint().text, run);
        // Taken here, not in the session: the next accept, on any loop, must
        // see it. A session gives it back when it ends.
        const bool full = ctx_->active.fetch_add(1) >= ctx_->options.max_connections;
        if (full)
            --ctx_->active;
        if (full && service.kind != Service::Kind::http) {
            // SOCKS5 has no way to say "busy" before the greeting, a forward
            // none at all: close.
            AccessRecord r;
            r.time = std::chrono::system_clock::now();
            r.client = endpoint_name(peer);
            r.method = service.method();
            r.reason = "max_connections";
            r.status = 503;
            ctx_->log.write(r);
            continue;
        }
        if (full) {
            // Answer at once rather than leaving the client to time out.
            auto text = render_error({503,
                                      "connection_limit_reached",
                                      fmt::format("more than {} connections; try again later",
                                                  ctx_->options.max_connections),
                                      {}});
            int fd = client.native_handle();
            [[maybe_unused]] auto n =
                ::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            // Unread request bytes at close() would turn it into a reset that
            // can destroy the 503 before the client reads it.
            ::shutdown(fd, SHUT_WR);
            char discard[4096];
            while (::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0) {
            }
            AccessRecord r;
            r.time = std::chrono::system_clock::now();
            r.client = endpoint_name(peer);
            r.method = "-";
            r.reason = "max_connections";
            r.status = 503;
            r.bytes_down = text.size();
            ctx_->log.write(r);
            continue;
        }
        Service named = service;
        named.client = endpoint_name(peer);
        boost::asio::co_spawn(ioc_, run_session(ctx_, std::move(client), std::move(named)),
                              boost::asio::detached);
    }
}

void Server::watch_reload() {
    hangup_.async_wait([this](boost::system::error_code ec, int) {
        if (ec)
            return;
        reload();
        watch_reload();
    });
}

void Server::reload() {
    auto compiled = compile_policy(ctx_->options);
    if (!compiled) {
        fmt::print(stderr, "proxy: SIGHUP: keeping the previous rules: {}\n", compiled.error());
        return;
    }
    for (const auto& w : compiled->warnings)
        fmt::print(stderr, "proxy: {}\n", w);
    ctx_->policy.store(std::make_shared<const CompiledPolicy>(std::move(*compiled)));
    fmt::print(stderr, "proxy: SIGHUP: policy reloaded\n");
}

} // namespace proxy
