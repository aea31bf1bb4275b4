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
// Memory: a direction holds a buffer (or pipe) only while bytes flow, so
// thousands of idle connections cost a coroutine frame each, not
// 2 x buffer_size.
//
// Zero copy (the default): bulk moves with splice(2), socket -> pipe ->
// socket, so it never enters user space; small bursts (a request, a reply)
// are copied, which takes fewer calls than making a pipe for them (see
// transfer). Where a pipe cannot be had (EMFILE) or splice is refused
// (EINVAL: a socket type without splice), bytes are copied instead.
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

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace relay {

struct PumpOptions {
    // Close both sides after this long with no byte moving either way; zero = never.
    std::chrono::steady_clock::duration idle_timeout{};
    // Per-direction pipe (or buffer, copying), held only while bytes flow:
    // large enough that a bulk transfer is few calls.
    std::size_t buffer_size = 256 * 1024;
    // Move bulk bytes with splice(2) through a pipe rather than a user-space buffer.
    bool zero_copy = true;
    // With zero_copy: a burst's first read copies up to this many bytes, and
    // only a read that fills it hands the rest of the burst to splice (small
    // messages cost fewer calls copied). 0 or 1: splice from the second byte.
    std::size_t splice_after = 16 * 1024;
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
    int ended = 0; // directions that have seen EOF
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

// A direction's EOF, passed on to `to` as a half-close, unless the other
// direction has ended already: then the pump closes both sockets next, and
// the close sends the FIN (its receive side is drained: that direction read
// to EOF). One call fewer per connection.
template <class To>
void half_close(To& to, State& state) {
    if (++state.ended == 1) {
        boost::system::error_code ignored; // the peer may already be gone
        to.shutdown(boost::asio::socket_base::shutdown_send, ignored);
    }
}

enum class SpliceEnd { dry, eof, no_pipe, refused };

// Moves what the source holds now by splice(2): returns `dry` when it has
// nothing more (the pipe empty, every byte on its way), `eof` after
// half-closing `to`, `no_pipe` when no pipe can be had (EMFILE), `refused`
// when splice is refused for these sockets (EINVAL) before a byte moved;
// throws on a hard error. The pipe lives only for the burst: an idle
// direction (a thousand quiet tunnels) holds no descriptors for it.
template <class From, class To>
boost::asio::awaitable<SpliceEnd> splice_burst(From& from, To& to, std::uint64_t& count,
                                               State& state, std::size_t pipe_size) {
    Pipe pipe;
    if (!pipe.open(pipe_size)) {
        co_return SpliceEnd::no_pipe;
    }
    bool moved = false;
    for (;;) {
        auto n = ::splice(from.native_handle(), nullptr, pipe.write, nullptr, pipe_size,
                          SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            moved = true;
            co_await drain(pipe, to, static_cast<std::size_t>(n), count, state);
        } else if (n == 0) {
            half_close(to, state);
            co_return SpliceEnd::eof;
        } else if (errno == EAGAIN) {
            co_return SpliceEnd::dry;
        } else if (errno == EINVAL && !moved) {
            co_return SpliceEnd::refused;
        } else if (errno != EINTR) {
            throw_if(state, errno_code());
        }
    }
}

// One direction. Returns on EOF after half-closing `to`; throws on a hard
// error. Each burst (what the source holds when it turns readable) starts
// with a read into the coroutine's own small buffer: a request or a reply
// fits, and costs a read and a write, with no allocation. A read that fills
// it reads on through a heap buffer of copy_size, and a read that fills that
// means bulk: with zero_copy the rest of the burst goes by splice(2) (six
// calls per pipe-full instead of a copy each way). The heap buffer, like the
// pipe, is held only during a burst.
template <class From, class To>
boost::asio::awaitable<void> transfer(From& from, To& to, std::uint64_t& count, State& state,
                                      std::span<const std::byte> initial, std::size_t buffer_size,
                                      std::size_t copy_size, bool zero_copy) {
    using boost::asio::as_tuple;
    using boost::asio::use_awaitable;
    boost::system::error_code ignored;
    // splice(2) needs the sink non-blocking too. Asio made it so for its own
    // reads (the other direction's); the check reads asio's flag, no call.
    if (!to.native_non_blocking()) {
        to.native_non_blocking(true, ignored);
    }
    if (!initial.empty()) {
        co_await write_all(to, initial, count, state);
    }
    copy_size =
        zero_copy ? std::max<std::size_t>(std::min(copy_size, buffer_size), 1) : buffer_size;
    std::array<std::byte, 512> first; // a frame of an idle tunnel keeps this, not more
    auto shut = [&] { half_close(to, state); };
    for (;;) {
        std::size_t want = zero_copy && copy_size == 1 ? 1 : first.size();
        auto [ec0, n0] = co_await from.async_read_some(boost::asio::buffer(first.data(), want),
                                                       as_tuple(use_awaitable));
        if (n0 > 0) {
            co_await write_all(to, std::span<const std::byte>(first.data(), n0), count, state);
        }
        if (ec0 == boost::asio::error::eof) {
            shut(); // the peer may already be gone
            co_return;
        }
        throw_if(state, ec0);
        if (n0 < want) {
            continue; // the burst was small, and is over
        }
        std::unique_ptr<std::byte[]> buffer(new std::byte[copy_size]); // uninitialised
        for (bool more = true; more;) {
            // Never waits, whatever the socket's mode: the burst ends at EAGAIN.
            auto got = ::recv(from.native_handle(), buffer.get(), copy_size, MSG_DONTWAIT);
            if (got < 0 && errno == EINTR) {
                continue;
            }
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break; // the burst is over
            }
            if (got < 0) {
                throw_if(state, errno_code());
            }
            if (got == 0) {
                shut();
                co_return;
            }
            auto n = static_cast<std::size_t>(got);
            co_await write_all(to, std::span<const std::byte>(buffer.get(), n), count, state);
            if (!zero_copy || n < copy_size) {
                continue;
            }
            switch (co_await splice_burst(from, to, count, state, buffer_size)) {
            case SpliceEnd::eof:
                co_return;
            case SpliceEnd::dry:
                more = false;
                break;
            case SpliceEnd::refused: // this socket pair: copy from now on
                zero_copy = false;
                copy_size = buffer_size;
                buffer.reset(new std::byte[copy_size]);
                break;
            case SpliceEnd::no_pipe: // out of descriptors: copy this burst
                break;
            }
        }
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
                                       PumpOptions const& o) {
    using namespace boost::asio::experimental::awaitable_operators;
    try {
        co_await (
            transfer(a, b, state.a_to_b, state, initial_a_to_b, o.buffer_size, o.splice_after,
                     o.zero_copy) &&
            transfer(b, a, state.b_to_a, state, {}, o.buffer_size, o.splice_after, o.zero_copy));
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

// After a clean end both sides are half-closed already and close() is all
// that is left; otherwise shutdown first, so the peer learns at once.
template <class S>
void close_quietly(S& s, bool clean) {
    boost::system::error_code ignored;
    if (!clean) {
        s.shutdown(boost::asio::socket_base::shutdown_both, ignored);
    }
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
        auto both = pump_detail::both_ways(a, b, state, initial_a_to_b, options);
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
    const bool clean = !state.error && !result.idle_timeout;
    pump_detail::close_quietly(a, clean);
    pump_detail::close_quietly(b, clean);
    result.a_to_b = state.a_to_b;
    result.b_to_a = state.b_to_a;
    co_return result;
}

} // namespace relay
