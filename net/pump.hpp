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
//
// Zero copy (the default): a direction moves bytes with splice(2), socket ->
// pipe -> socket, so they never enter user space; the pipe is made, like
// the buffer, when the source is first readable, sized to buffer_size. Where
// a pipe cannot be had (EMFILE) or splice is refused (EINVAL: a socket type
// without splice), that direction reads and writes through a buffer instead.
// Readiness waits and half-close are the same either way. splice(2) has no
// MSG_NOSIGNAL: a process using the pump must ignore SIGPIPE (net/lifetime
// does so for relay and proxy), or a peer that goes away kills it.
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

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>

#include <fcntl.h>
#include <unistd.h>

namespace relay {

struct PumpOptions {
    // Close both sides after this long with no byte moving either way; zero = never.
    std::chrono::steady_clock::duration idle_timeout{};
    // Per-direction buffer (or pipe); large enough that a bulk transfer is few syscalls.
    std::size_t buffer_size = 64 * 1024;
    // Move bytes with splice(2) through a pipe rather than a user-space buffer.
    bool zero_copy = true;
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

// A pipe for splice(2); both ends non-blocking, closed on destruction.
struct Pipe {
    int read = -1;
    int write = -1;
    Pipe() = default;
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    ~Pipe() { close(); }
    void close() {
        if (read >= 0) {
            ::close(read);
            ::close(write);
            read = write = -1;
        }
    }
    bool is_open() const { return read >= 0; }
    bool open(std::size_t size) {
        int fds[2];
        if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
            return false;
        }
        read = fds[0];
        write = fds[1];
        ::fcntl(write, F_SETPIPE_SZ, static_cast<int>(size)); // a smaller pipe only costs calls
        return true;
    }
};

inline boost::system::error_code errno_code() {
    return {errno, boost::system::system_category()};
}

// Moves what the pipe holds to `to`, waiting for room as needed.
template <class To>
boost::asio::awaitable<void> drain(Pipe& pipe, To& to, std::size_t pending, std::uint64_t& count,
                                   State& state) {
    using boost::asio::as_tuple;
    using boost::asio::use_awaitable;
    while (pending > 0) {
        auto n = ::splice(pipe.read, nullptr, to.native_handle(), nullptr, pending,
                          SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            pending -= static_cast<std::size_t>(n);
            count += static_cast<std::uint64_t>(n);
            state.last_activity = std::chrono::steady_clock::now();
        } else if (n < 0 && errno == EAGAIN) {
            auto [ec] = co_await to.async_wait(boost::asio::socket_base::wait_write,
                                               as_tuple(use_awaitable));
            throw_if(state, ec);
        } else if (n < 0 && errno != EINTR) {
            throw_if(state, errno_code());
        }
    }
}

// One direction by splice(2), the source known readable. Returns true on
// EOF after half-closing `to`; false, with the pipe empty and nothing lost,
// when splice cannot go on (no pipe to be had: EMFILE; or splice refused
// for these sockets), so the caller copies from there; throws on a hard
// error. The pipe is held only while bytes flow: an idle direction (a
// thousand quiet tunnels) holds no descriptors for it.
template <class From, class To>
boost::asio::awaitable<bool> splice_transfer(From& from, To& to, std::uint64_t& count, State& state,
                                             std::size_t buffer_size) {
    using boost::asio::as_tuple;
    using boost::asio::use_awaitable;
    boost::system::error_code ignored;
    from.native_non_blocking(true, ignored);
    to.native_non_blocking(true, ignored);
    Pipe pipe;
    bool moved = false;
    for (;;) {
        if (!pipe.is_open() && !pipe.open(buffer_size)) {
            co_return false;
        }
        auto n = ::splice(from.native_handle(), nullptr, pipe.write, nullptr, buffer_size,
                          SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            moved = true;
            co_await drain(pipe, to, static_cast<std::size_t>(n), count, state);
        } else if (n == 0) {
            to.shutdown(boost::asio::socket_base::shutdown_send, ignored); // peer may be gone
            co_return true;
        } else if (errno == EAGAIN) {
            pipe.close(); // empty: every byte went on in drain()
            auto [ec] = co_await from.async_wait(boost::asio::socket_base::wait_read,
                                                 as_tuple(use_awaitable));
            throw_if(state, ec);
        } else if (errno == EINVAL && !moved) {
            co_return false;
        } else if (errno != EINTR) {
            throw_if(state, errno_code());
        }
    }
}

// One direction. Returns on EOF after half-closing `to`; throws on a hard error.
template <class From, class To>
boost::asio::awaitable<void> transfer(From& from, To& to, std::uint64_t& count, State& state,
                                      std::span<const std::byte> initial, std::size_t buffer_size,
                                      bool zero_copy) {
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
            if (zero_copy) {
                if (co_await splice_transfer(from, to, count, state, buffer_size)) {
                    co_return;
                }
                zero_copy = false;
            }
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
                                       std::size_t buffer_size, bool zero_copy) {
    using namespace boost::asio::experimental::awaitable_operators;
    try {
        co_await (transfer(a, b, state.a_to_b, state, initial_a_to_b, buffer_size, zero_copy) &&
                  transfer(b, a, state.b_to_a, state, {}, buffer_size, zero_copy));
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
        auto both = pump_detail::both_ways(a, b, state, initial_a_to_b, options.buffer_size,
                                           options.zero_copy);
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
