// Endpoint parser: a table of accepted spellings and one of rejected ones;
// every rejection must name the endpoint text.
#include "net/endpoint.hpp"

#include <catch2/catch.hpp>

using relay::Endpoint;

TEST_CASE("endpoint spellings that parse") {
    struct Row {
        char const* text;
        Endpoint::Kind kind;
        Endpoint::Role role;
        char const* path;
        char const* host;
        int port;
    };
    using K = Endpoint::Kind;
    using R = Endpoint::Role;
    auto row = GENERATE(Row{"unix:/run/x.sock", K::unix_socket, R::any, "/run/x.sock", "", 0},
                        Row{"unix:rel/path", K::unix_socket, R::any, "rel/path", "", 0},
                        Row{"UNIX-LISTEN:/tmp/a", K::unix_socket, R::listen, "/tmp/a", "", 0},
                        Row{"UNIX-CONNECT:/tmp/b:c", K::unix_socket, R::connect, "/tmp/b:c", "", 0},
                        Row{"tcp:127.0.0.1:8080", K::tcp, R::any, "", "127.0.0.1", 8080},
                        Row{"tcp:example.org:443", K::tcp, R::any, "", "example.org", 443},
                        Row{"tcp:[::1]:1", K::tcp, R::any, "", "::1", 1},
                        Row{"tcp:[fe80::1%lo]:65535", K::tcp, R::any, "", "fe80::1%lo", 65535},
                        Row{"TCP-LISTEN:3128", K::tcp, R::listen, "", "127.0.0.1", 3128},
                        Row{"TCP:localhost:22", K::tcp, R::connect, "", "localhost", 22});
    CAPTURE(row.text);
    auto e = relay::parse_endpoint(row.text);
    REQUIRE(e);
    CHECK(e->kind == row.kind);
    CHECK(e->role == row.role);
    CHECK(e->path == row.path);
    CHECK(e->host == row.host);
    CHECK(e->port == row.port);
    CHECK(e->text == row.text);
}

TEST_CASE("endpoint spellings that are rejected name the endpoint") {
    struct Row {
        char const* text;
        char const* why;
    };
    auto row = GENERATE(
        Row{"", "unknown kind"}, Row{"unix:", "empty socket path"}, Row{"UNIX:/x", "unknown kind"},
        Row{"unix-listen:/x", "unknown kind"}, Row{"OPENSSL:host:1", "unknown kind"},
        Row{"tcp:host", "expected HOST:PORT"}, Row{"tcp::80", "empty host"},
        Row{"tcp:h:0", "1 to 65535"}, Row{"tcp:h:65536", "1 to 65535"},
        Row{"tcp:h:8o", "1 to 65535"}, Row{"tcp:h:", "1 to 65535"}, Row{"tcp:::1:80", "brackets"},
        Row{"tcp:[::1]80", "[IPV6]:PORT"}, Row{"tcp:[::1", "[IPV6]:PORT"},
        Row{"TCP-LISTEN:x", "1 to 65535"}, Row{"TCP-LISTEN:", "1 to 65535"},
        Row{"fd:", "3 or more"}, Row{"fd:2", "3 or more"}, Row{"fd:x", "3 or more"},
        Row{"fd:5x", "3 or more"}, Row{"FD:5", "unknown kind"});
    CAPTURE(row.text);
    auto e = relay::parse_endpoint(row.text);
    REQUIRE_FALSE(e);
    CHECK_THAT(e.error().message, Catch::Contains(std::string("'") + row.text + "'"));
    CHECK_THAT(e.error().message, Catch::Contains(row.why));
}

TEST_CASE("a too long unix path is rejected before bind") {
    auto e = relay::parse_endpoint("unix:/" + std::string(200, 'a'));
    REQUIRE_FALSE(e);
    CHECK_THAT(e.error().message, Catch::Contains("longer than 107 bytes"));
}

TEST_CASE("socat spellings keep to their side") {
    auto listen_only = relay::parse_endpoint("TCP-LISTEN:1").value();
    auto connect_only = relay::parse_endpoint("UNIX-CONNECT:/x").value();
    auto either = relay::parse_endpoint("unix:/x").value();
    CHECK(relay::role_mismatch(listen_only, Endpoint::Role::listen).empty());
    CHECK_THAT(relay::role_mismatch(listen_only, Endpoint::Role::connect),
               Catch::Contains("'TCP-LISTEN:1' cannot be used as the connect address"));
    CHECK_THAT(relay::role_mismatch(connect_only, Endpoint::Role::listen),
               Catch::Contains("listen address"));
    CHECK(relay::role_mismatch(either, Endpoint::Role::listen).empty());
    CHECK(relay::role_mismatch(either, Endpoint::Role::connect).empty());
}

TEST_CASE("an inherited listener is fd:N, listen side only") {
    auto e = relay::parse_endpoint("fd:5").value();
    CHECK(e.is_inherited());
    CHECK(e.fd == 5);
    CHECK(relay::to_string(e) == "fd:5");
    CHECK(relay::role_mismatch(e, Endpoint::Role::listen).empty());
    CHECK_THAT(relay::role_mismatch(e, Endpoint::Role::connect),
               Catch::Contains("'fd:5' cannot be used as the connect address"));
}

TEST_CASE("endpoints print in the canonical form") {
    CHECK(relay::to_string(relay::parse_endpoint("UNIX-LISTEN:/a").value()) == "unix:/a");
    CHECK(relay::to_string(relay::parse_endpoint("tcp:[::1]:5").value()) == "tcp:[::1]:5");
    CHECK(relay::to_string(relay::parse_endpoint("TCP:h:5").value()) == "tcp:h:5");
}
