// Server: accept loop with back-off and a connection cap; sessions that
// connect to the target and pump. See server.hpp.
#include "relay/relay_server.hpp"

#include "net/connector.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <utility>

namespace relay {
namespace {

using boost::asio::as_tuple;
using boost::asio::use_awaitable;

// After an accept error such as EMFILE, wait this long before trying again:
// retrying at once would spin at 100% CPU while the error persists.
constexpr auto accept_backoff = std::chrono::milliseconds(100);

} // namespace

Server::Server(boost::asio::io_context& ioc, Listener listener, ServerOptions options, ConnLog& log,
               std::shared_ptr<ConnectionCap> cap, std::shared_ptr<AcceptFailures> failures)
    : ioc_(ioc), listener_(std::move(listener)), options_(std::move(options)), log_(log),
      cap_(std::move(cap)), failures_(std::move(failures)),
      waiter_(std::make_shared<ConnectionCap::Waiter>(ioc.get_executor())),
      next_id_(options_.first_id) {
    cap_->add_waiter(waiter_);
}

void Server::start() {
    boost::asio::co_spawn(ioc_, accept_loop(), boost::asio::detached);
}

void Server::stop(std::string const& /*reason: main logs it, last*/) {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    cap_->close();
    listener_.close();
    waiter_->freed.cancel();
    ioc_.stop();
}

// Takes a slot for the next connection, waiting while every slot is in use
// (false when stopping instead). A slot freed on another loop wakes this one
// by a cancel posted here, which cannot run before the wait below is armed.
boost::asio::awaitable<bool> Server::take_slot() {
    while (!stopping_) {
        if (cap_->try_take()) {
            co_return true;
        }
        waiter_->freed.expires_at(boost::asio::steady_timer::time_point::max());
        co_await waiter_->freed.async_wait(as_tuple(use_awaitable));
    }
    co_return false;
}

boost::asio::awaitable<void> Server::accept_loop() {
    boost::asio::steady_timer backoff(ioc_);
    while (!stopping_) {
        if (!co_await take_slot()) {
            break;
        }
        const auto ticket = failures_->ticket();
        auto [ec, client] = co_await listener_.acceptor().async_accept(as_tuple(use_awaitable));
        if (stopping_ || ec) {
            cap_->release(); // the slot goes to the next accept
        }
        if (stopping_) {
            break;
        }
        if (ec) {
            if (failures_->failed(ticket)) {
                log_.warn(fmt::format("accept on {}: {}; retrying every {} ms",
                                      listener_.endpoint().text, ec.message(),
                                      accept_backoff.count()));
            }
            backoff.expires_after(accept_backoff);
            co_await backoff.async_wait(as_tuple(use_awaitable));
            continue;
        }
        if (auto run = failures_->succeeded(ticket); run > 0) {
            log_.warn(fmt::format("accept on {}: accepting again after {} failed attempts",
                                  listener_.endpoint().text, run));
        }
        boost::asio::co_spawn(
            ioc_, session(std::move(client), std::exchange(next_id_, next_id_ + options_.id_step)),
            boost::asio::detached);
    }
}

boost::asio::awaitable<void> Server::session(Listener::socket_type client, std::uint64_t id) {
    // Gives back the slot the accept loop took, on every exit path, including
    // teardown (the cap outlives this frame: the guard shares it).
    struct SlotGuard {
        std::shared_ptr<ConnectionCap> cap;
        ~SlotGuard() { cap->release(); }
    } guard{cap_};
    auto started = std::chrono::steady_clock::now();
    log_.opened(id, listener_.endpoint().text, options_.target.text);
    Listener::socket_type upstream(ioc_);
    if (auto ec = co_await connect_endpoint(upstream, options_.target); ec) {
        boost::system::error_code ignored;
        client.close(ignored);
        log_.closed(id, PumpResult{}, std::chrono::steady_clock::now() - started,
                    fmt::format("connect {}: {}", options_.target.text, ec.message()));
        co_return;
    }
    auto result = co_await pump(client, upstream, options_.pump);
    std::string error;
    if (result.error) {
        error = fmt::format("pump: {}", result.error.message());
    } else if (result.idle_timeout) {
        error = "idle timeout";
    }
    log_.closed(id, result, std::chrono::steady_clock::now() - started, error);
}

} // namespace relay
