// The byte pump: moves bytes both ways between two connected stream sockets
// until both directions have ended, then closes both. Used by relay for every
// connection and by proxy for CONNECT tunnels, so there is one implementation
// of half-close, accounting and idle timeouts.
//
// Theory of operation: two `transfer` coroutines (A->B and B->A) joined with
// `&&`. A transfer that reads EOF first writes every byte it has read, then
// shuts down the sending side of its peer (a half-close), and ends; the other
// direction keeps flowing until its own EOF. Only when both have ended are the
// sockets closed, so the far side sees a full close (POLLHUP) exactly then; the
// nix daemon cancels a client's build on that signal and on nothing earlier.
// A hard error (reset, broken pipe) in either direction throws, which makes
// `&&` cancel the other direction, and both sockets are closed at once.
// The optional idle timeout is a watchdog raced against the pair with `||`.
//
// Memory: a direction allocates its buffer only once its source is first
// readable, so thousands of idle connections cost a coroutine frame each, not
// 2 x buffer_size.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>

namespace relay {

struct PumpOptions {
    // Close both sides after this long with no byte moving either way; zero = never.
    std::chrono::steady_clock::duration idle_timeout{};
    // Per-direction buffer; large enough that a bulk transfer is few syscalls.
    std::size_t buffer_size = 64 * 1024;
};

struct PumpResult {
    std::uint64_t a_to_b = 0;        // includes the initial bytes
    std::uint64_t b_to_a = 0;        //
    boost::system::error_code error; // first hard error; empty after a clean end
    bool idle_timeout = false;       // ended by the idle watchdog
};

namespace pump_detail {

struct State {
    std::uint64_t a_to_b = 0;
    std::uint64_t b_to_a = 0;
    std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
    // The first hard error; the cancelled direction's operation_aborted must not hide it.
    boost::system::error_code error;
};

inline void throw_if(State& state, boost::system::error_code const& ec) {
    if (ec) {
        if (!state.error) {
            state.error = ec;
        }
        throw boost::system::system_error(ec);
    }
}

template <class To>
boost::asio::awaitable<void> write_all(To& to, std::span<const std::byte> bytes,
                                       std::uint64_t& count, State& state) {
    auto [ec, n] =
        co_await boost::asio::async_write(to, boost::asio::buffer(bytes.data(), bytes.size()),
                                          boost::asio::as_tuple(boost::asio::use_awaitable));
    count += n;
    state.last_activity = std::chrono::steady_clock::now();
    throw_if(state, ec);
}

// One direction. Returns on EOF after half-closing `to`; throws on a hard error.
template <class From, class To>
boost::asio::awaitable<void> transfer(From& from, To& to, std::uint64_t& count, State& state,
                                      std::span<const std::byte> initial, std::size_t buffer_size) {
    using boost::asio::as_tuple;
    using boost::asio::use_awaitable;
    if (!initial.empty()) {
        co_await write_all(to, initial, count, state);
    }
    std::unique_ptr<std::byte[]> buffer;
    for (;;) {
        if (!buffer) {
            auto [wait_ec] = co_await from.async_wait(boost::asio::socket_base::wait_read,
                                                      as_tuple(use_awaitable));
            throw_if(state, wait_ec);
            buffer.reset(new std::byte[buffer_size]); // uninitialised: pages stay untouched
        }
        auto [ec, n] = co_await from.async_read_some(boost::asio::buffer(buffer.get(), buffer_size),
                                                     as_tuple(use_awaitable));
        if (n > 0) {
            co_await write_all(to, std::span<const std::byte>(buffer.get(), n), count, state);
        }
        if (ec == boost::asio::error::eof) {
            boost::system::error_code ignored; // the peer may already be gone
            to.shutdown(boost::asio::socket_base::shutdown_send, ignored);
            co_return;
        }
        throw_if(state, ec);
    }
}

// Returns once nothing has moved for `idle`; cancelled (throws) otherwise.
inline boost::asio::awaitable<void> watch_idle(State& state,
                                               std::chrono::steady_clock::duration idle) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    for (;;) {
        timer.expires_at(state.last_activity + idle);
        co_await timer.async_wait(boost::asio::use_awaitable);
        if (std::chrono::steady_clock::now() >= state.last_activity + idle) {
            co_return;
        }
    }
}

// Both directions until both have ended. A hard error ends this normally,
// recorded in state.error: the idle race below is an `||`, which waits for
// one side to SUCCEED, so an exception here would leave the client waiting
// for the idle timeout after its peer reset.
template <class A, class B>
boost::asio::awaitable<void> both_ways(A& a, B& b, State& state,
                                       std::span<const std::byte> initial_a_to_b,
                                       std::size_t buffer_size) {
    using namespace boost::asio::experimental::awaitable_operators;
    try {
        co_await (transfer(a, b, state.a_to_b, state, initial_a_to_b, buffer_size) &&
                  transfer(b, a, state.b_to_a, state, {}, buffer_size));
    } catch (boost::system::system_error const& e) {
        if (!state.error) {
            state.error = e.code();
        }
    } catch (std::exception const&) {
        // Both directions threw (asio::multiple_exceptions): the first hard
        // error was recorded before any throw.
        if (!state.error) {
            state.error = boost::asio::error::operation_aborted;
        }
    }
}

template <class S>
void close_quietly(S& s) {
    boost::system::error_code ignored;
    s.shutdown(boost::asio::socket_base::shutdown_both, ignored);
    s.close(ignored);
}

} // namespace pump_detail

// Pumps until both directions end (or a hard error, or the idle timeout), then
// closes both sockets. `initial_a_to_b` (bytes already read from `a`, e.g. past
// an HTTP request head) is written to `b` first and must stay valid until the
// pump returns. Never throws for I/O errors: they are reported in the result.
template <class A, class B>
boost::asio::awaitable<PumpResult> pump(A& a, B& b, PumpOptions options = {},
                                        std::span<const std::byte> initial_a_to_b = {}) {
    using namespace boost::asio::experimental::awaitable_operators;
    pump_detail::State state;
    PumpResult result;
    try {
        auto both = pump_detail::both_ways(a, b, state, initial_a_to_b, options.buffer_size);
        if (options.idle_timeout == std::chrono::steady_clock::duration::zero()) {
            co_await std::move(both);
        } else {
            auto winner =
                co_await (std::move(both) || pump_detail::watch_idle(state, options.idle_timeout));
            result.idle_timeout = winner.index() == 1;
        }
    } catch (boost::system::system_error const& e) {
        state.error = state.error ? state.error : e.code();
    } catch (std::exception const&) {
        state.error = state.error ? state.error : boost::asio::error::operation_aborted;
    }
    if (!result.idle_timeout) { // the watchdog's cancellation is no error
        result.error = state.error;
    }
    pump_detail::close_quietly(a);
    pump_detail::close_quietly(b);
    result.a_to_b = state.a_to_b;
    result.b_to_a = state.b_to_a;
    co_return result;
}

} // namespace relay
