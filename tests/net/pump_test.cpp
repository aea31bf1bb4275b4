// The pump on real sockets (socketpairs and loopback TCP): half-close in each
// direction, initial bytes, bulk data both ways at once, idle timeout, and a
// reset that must tear both sides down. Every case runs three times: splice(2)
// from the first byte (splice_after = 0), copy then splice (the default), and
// the read/write loop only (zero_copy = false). Each case runs one io_context
// with a deadline so a hang fails instead of blocking the suite.
#include "net/pump.hpp"

#include <boost/asio.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <optional>
#include <string>

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using local = asio::local::stream_protocol;
using namespace std::chrono_literals;

namespace {

void set_path(relay::PumpOptions& options, int path) {
    options.zero_copy = path != 2;
    if (path == 0) {
        options.splice_after = 0;
    }
}

// client <-> a ==pump== b <-> server
struct Rig {
    asio::io_context ioc;
    local::socket client{ioc}, a{ioc}, b{ioc}, server{ioc};
    std::optional<relay::PumpResult> result;
    // Each path: splice from the first byte, copy then splice (the
    // default), copy only.
    int path = GENERATE(0, 1, 2);
    Rig() {
        // splice(2) to a closed peer raises SIGPIPE; the daemons ignore it
        // (net/lifetime), and so must this process.
        ::signal(SIGPIPE, SIG_IGN);
        asio::local::connect_pair(client, a);
        asio::local::connect_pair(b, server);
    }
    void start(relay::PumpOptions options = {}, std::span<const std::byte> initial = {}) {
        asio::co_spawn(
            ioc,
            [this, options, initial]() mutable -> awaitable<void> {
                set_path(options, path);
                result = co_await relay::pump(a, b, options, initial);
            },
            asio::detached);
    }
    template <class F>
    void run(F peers, std::chrono::milliseconds deadline = 5s) {
        asio::co_spawn(ioc, std::move(peers), asio::detached);
        ioc.run_for(deadline);
        REQUIRE(ioc.stopped()); // everything finished before the deadline
    }
};

awaitable<std::string> read_to_eof(local::socket& s) {
    std::string data;
    auto [ec, n] =
        co_await asio::async_read(s, asio::dynamic_buffer(data), asio::as_tuple(use_awaitable));
    CHECK(ec == asio::error::eof);
    co_return data;
}

awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(use_awaitable);
}

} // namespace

TEST_CASE("a half-closed client still gets a late reply, then both sides close") {
    Rig rig;
    rig.start();
    std::string at_server, at_client;
    rig.run([&]() -> awaitable<void> {
        co_await asio::async_write(rig.client, asio::buffer("request", 7), use_awaitable);
        rig.client.shutdown(local::socket::shutdown_send);
        at_server = co_await read_to_eof(rig.server); // the half-close arrived
        co_await sleep(300ms);                        // socat -t0.5 would still be waiting
        co_await asio::async_write(rig.server, asio::buffer("reply", 5), use_awaitable);
        rig.server.shutdown(local::socket::shutdown_send);
        at_client = co_await read_to_eof(rig.client);
    });
    CHECK(at_server == "request");
    CHECK(at_client == "reply");
    REQUIRE(rig.result);
    CHECK(rig.result->a_to_b == 7);
    CHECK(rig.result->b_to_a == 5);
    CHECK_FALSE(rig.result->error);
    CHECK_FALSE(rig.a.is_open());
    CHECK_FALSE(rig.b.is_open());
}

TEST_CASE("the server side may half-close first") {
    Rig rig;
    rig.start();
    std::string at_client, at_server;
    rig.run([&]() -> awaitable<void> {
        co_await asio::async_write(rig.server, asio::buffer("banner", 6), use_awaitable);
        rig.server.shutdown(local::socket::shutdown_send);
        at_client = co_await read_to_eof(rig.client);
        co_await asio::async_write(rig.client, asio::buffer("late", 4), use_awaitable);
        rig.client.shutdown(local::socket::shutdown_send);
        at_server = co_await read_to_eof(rig.server);
    });
    CHECK(at_client == "banner");
    CHECK(at_server == "late");
}

TEST_CASE("the target sees a full close only when both directions are done") {
    Rig rig;
    rig.start();
    rig.run([&]() -> awaitable<void> {
        rig.client.shutdown(local::socket::shutdown_send);
        co_await read_to_eof(rig.server);
        co_await sleep(50ms);
        // Still half-open: the server can write and the pump has not closed b.
        CHECK(rig.b.is_open());
        co_await asio::async_write(rig.server, asio::buffer("x", 1), use_awaitable);
        rig.client.close(); // the client goes away entirely
        rig.server.shutdown(local::socket::shutdown_send);
        co_await sleep(50ms);
        CHECK_FALSE(rig.b.is_open());
    });
}

TEST_CASE("initial bytes reach the target before anything read later") {
    Rig rig;
    static constexpr char head[] = "EARLY-";
    rig.start({}, std::as_bytes(std::span(head, 6)));
    std::string at_server;
    rig.run([&]() -> awaitable<void> {
        co_await asio::async_write(rig.client, asio::buffer("later", 5), use_awaitable);
        rig.client.shutdown(local::socket::shutdown_send);
        at_server = co_await read_to_eof(rig.server);
        rig.server.shutdown(local::socket::shutdown_send);
        co_await read_to_eof(rig.client);
    });
    CHECK(at_server == "EARLY-later");
    REQUIRE(rig.result);
    CHECK(rig.result->a_to_b == 11);
}

TEST_CASE("bulk data flows both ways at once without loss") {
    Rig rig;
    rig.start();
    std::string up(8 << 20, '\0'), down(6 << 20, '\0');
    for (std::size_t i = 0; i < up.size(); ++i) {
        up[i] = static_cast<char>(i * 7 + i / 4096);
    }
    for (std::size_t i = 0; i < down.size(); ++i) {
        down[i] = static_cast<char>(i * 13 + 1);
    }
    std::string got_up, got_down;
    auto sender = [](local::socket& s, std::string const& data) -> awaitable<void> {
        co_await asio::async_write(s, asio::buffer(data), use_awaitable);
        s.shutdown(local::socket::shutdown_send);
    };
    rig.run([&]() -> awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto [u, d] = co_await ((sender(rig.client, up) && sender(rig.server, down)) &&
                                (read_to_eof(rig.server) && read_to_eof(rig.client)));
        got_up = std::move(u);
        got_down = std::move(d);
    });
    CHECK(got_up == up);
    CHECK(got_down == down);
    REQUIRE(rig.result);
    CHECK(rig.result->a_to_b == up.size());
    CHECK(rig.result->b_to_a == down.size());
}

TEST_CASE("the idle timeout closes both sides") {
    Rig rig;
    rig.start(relay::PumpOptions{200ms});
    auto started = std::chrono::steady_clock::now();
    rig.run([&]() -> awaitable<void> {
        co_await sleep(100ms);
        // Activity resets the clock.
        co_await asio::async_write(rig.client, asio::buffer("ping", 4), use_awaitable);
        std::string got(4, '\0');
        co_await asio::async_read(rig.server, asio::buffer(got), use_awaitable);
        CHECK(got == "ping");
        co_await read_to_eof(rig.server);
        co_await read_to_eof(rig.client);
    });
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(took >= 300ms);
    CHECK(took < 2s);
    REQUIRE(rig.result);
    CHECK(rig.result->idle_timeout);
}

TEST_CASE("a reset on one side closes the other at once and is reported") {
    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket client(ioc), a(ioc);
    client.connect(acceptor.local_endpoint());
    acceptor.accept(a);
    local::socket b(ioc), server(ioc);
    asio::local::connect_pair(b, server);
    std::optional<relay::PumpResult> result;
    relay::PumpOptions options;
    set_path(options, GENERATE(0, 1, 2));
    ::signal(SIGPIPE, SIG_IGN); // as in Rig
    asio::co_spawn(
        ioc, [&]() -> awaitable<void> { result = co_await relay::pump(a, b, options); },
        asio::detached);
    std::string at_server;
    asio::co_spawn(
        ioc,
        [&]() -> awaitable<void> {
            co_await sleep(20ms);
            client.set_option(asio::socket_base::linger(true, 0)); // close sends RST
            client.close();
            at_server = co_await read_to_eof(server);
        },
        asio::detached);
    ioc.run_for(5s);
    REQUIRE(ioc.stopped());
    REQUIRE(result);
    CHECK(result->error == asio::error::connection_reset);
    CHECK(at_server.empty());
}
