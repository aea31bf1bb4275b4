// Listener, connector and event-loop helpers against real loopback sockets:
// TCP_NODELAY comes with every accepted connection (set once on the
// listener), a refused connect reports ECONNREFUSED and a good one connects
// with TCP_NODELAY, a listener copy accepts and never removes the socket
// file, and --threads parses "auto" and 1 to 64 only.
#include "net/connector.hpp"
#include "net/event_loops.hpp"
#include "net/listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

// A port nobody listens on right now (bound and released).
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

int connect_to(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

int no_delay(int fd) {
    int v = -1;
    socklen_t len = sizeof v;
    ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    return v;
}

relay::Endpoint tcp_endpoint(int port) {
    return relay::parse_endpoint("tcp:127.0.0.1:" + std::to_string(port)).value();
}

} // namespace

TEST_CASE("an accepted TCP connection has TCP_NODELAY from the listener") {
    boost::asio::io_context ioc;
    int port = free_port();
    auto listener = relay::Listener::open(ioc.get_executor(), tcp_endpoint(port));
    REQUIRE(listener.has_value());
    int client = connect_to(port);
    auto accepted = listener->acceptor().accept();
    CHECK(no_delay(accepted.native_handle()) != 0);
    ::close(client);

    SECTION("and from an inherited (fd:N) listener") {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd, 8) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        auto inherited = relay::Listener::open(
            ioc.get_executor(), relay::parse_endpoint("fd:" + std::to_string(fd)).value());
        REQUIRE(inherited.has_value());
        int c = connect_to(ntohs(a.sin_port));
        auto s = inherited->acceptor().accept();
        CHECK(no_delay(s.native_handle()) != 0);
        ::close(c);
    }
}

TEST_CASE("connect_endpoint: refused, then connected with TCP_NODELAY") {
    boost::asio::io_context ioc;
    boost::asio::generic::stream_protocol::socket socket(ioc);
    boost::system::error_code refused, connected;
    int port = free_port();
    boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<void> {
            refused = co_await relay::connect_endpoint(socket, tcp_endpoint(port));
        },
        boost::asio::detached);
    ioc.run();
    CHECK(refused == boost::system::errc::connection_refused);

    auto listener = relay::Listener::open(ioc.get_executor(), tcp_endpoint(port));
    REQUIRE(listener.has_value());
    ioc.restart();
    boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<void> {
            connected = co_await relay::connect_endpoint(socket, tcp_endpoint(port));
        },
        boost::asio::detached);
    ioc.run();
    CHECK_FALSE(connected);
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    CHECK(::getpeername(socket.native_handle(), reinterpret_cast<sockaddr*>(&peer), &len) == 0);
    CHECK(no_delay(socket.native_handle()) != 0);
}

TEST_CASE("a listener copy accepts, and only the original removes the socket file") {
    auto dir =
        std::filesystem::temp_directory_path() / ("listener_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto path = (dir / "s").string();
    boost::asio::io_context ioc;
    {
        auto listener = relay::Listener::open(ioc.get_executor(),
                                              relay::parse_endpoint("unix:" + path).value());
        REQUIRE(listener.has_value());
        {
            boost::asio::io_context other;
            auto copy = relay::duplicate_listener(*listener, other.get_executor());
            REQUIRE(copy.has_value());
            CHECK(copy->endpoint().text == listener->endpoint().text);
            int c = ::socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un a{};
            a.sun_family = AF_UNIX;
            path.copy(a.sun_path, sizeof a.sun_path - 1);
            REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
            auto s = copy->acceptor().accept();
            CHECK(s.is_open());
            ::close(c);
        }
        CHECK(std::filesystem::exists(path)); // the copy is gone, the file stays
    }
    CHECK_FALSE(std::filesystem::exists(path)); // the original removed it
    std::filesystem::remove_all(dir);
}

TEST_CASE("--threads: auto or 1 to 64") {
    auto cpus = relay::auto_event_loops();
    CHECK(cpus >= 1);
    CHECK(cpus <= relay::max_auto_event_loops);
    CHECK(relay::parse_event_loops("auto", "--threads").value() == cpus);
    CHECK(relay::parse_event_loops("1", "--threads").value() == 1);
    CHECK(relay::parse_event_loops("64", "--threads").value() == 64);
    for (auto bad : {"0", "65", "", "2x", "-1", "two"}) {
        CAPTURE(bad);
        auto r = relay::parse_event_loops(bad, "--threads");
        REQUIRE_FALSE(r.has_value());
        CHECK_THAT(r.error().message,
                   Catch::Contains(std::string("--threads ") + bad) && Catch::Contains("auto"));
    }
}
