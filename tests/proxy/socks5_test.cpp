// SOCKS5 messages (RFC 1928, RFC 1929 auth): every field, partial input
// (need_more), and the reply code each bad request gets.
#include "proxy/socks5.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace proxy::socks5;

namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> list) {
    std::vector<std::uint8_t> out;
    for (int b : list)
        out.push_back(static_cast<std::uint8_t>(b));
    return out;
}

std::vector<std::uint8_t> domain_request(int cmd, const std::string& name, int port) {
    std::vector<std::uint8_t> out = bytes({5, cmd, 0, 3, static_cast<int>(name.size())});
    out.insert(out.end(), name.begin(), name.end());
    out.push_back(static_cast<std::uint8_t>(port >> 8));
    out.push_back(static_cast<std::uint8_t>(port & 0xff));
    return out;
}

} // namespace

TEST_CASE("socks5 greeting: the method we pick, partial and bad greetings") {
    auto g = parse_greeting(bytes({5, 1, 0}));
    CHECK(g.status == Status::ok);
    CHECK(g.used == 3);
    CHECK(g.method == method_none);
    // No auth preferred over username/password when both are offered.
    CHECK(parse_greeting(bytes({5, 2, 2, 0})).method == method_none);
    CHECK(parse_greeting(bytes({5, 1, 2})).method == method_password);
    CHECK(parse_greeting(bytes({5, 1, 1})).method == method_unacceptable); // GSSAPI only
    CHECK(parse_greeting(bytes({})).status == Status::need_more);
    CHECK(parse_greeting(bytes({5})).status == Status::need_more);
    CHECK(parse_greeting(bytes({5, 3, 0, 2})).status == Status::need_more);
    CHECK(parse_greeting(bytes({4, 1, 0})).status == Status::bad); // SOCKS4
    CHECK(parse_greeting(bytes({'C', 'O', 'N'})).status == Status::bad);
    CHECK(parse_greeting(bytes({5, 0})).status == Status::bad);
}

TEST_CASE("socks5 username/password: accepted whatever it says") {
    auto a = parse_auth(bytes({1, 3, 'b', 'o', 'b', 2, 'p', 'w', 9}));
    CHECK(a.status == Status::ok);
    CHECK(a.used == 8);
    CHECK(parse_auth(bytes({1, 0, 0})).status == Status::ok);
    CHECK(parse_auth(bytes({1, 3, 'b', 'o'})).status == Status::need_more);
    CHECK(parse_auth(bytes({1, 3, 'b', 'o', 'b', 2, 'p'})).status == Status::need_more);
    CHECK(parse_auth(bytes({5, 1, 0})).status == Status::bad);
}

TEST_CASE("socks5 requests: address types, ports, commands") {
    auto r = parse_request(domain_request(1, "example.com", 443));
    CHECK(r.status == Status::ok);
    CHECK(r.host == "example.com");
    CHECK(r.port == 443);
    CHECK(r.reply == Reply::succeeded);
    CHECK(r.used == 7 + 11);
    auto v4 = parse_request(bytes({5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90}));
    CHECK(v4.status == Status::ok);
    CHECK(v4.host == "127.0.0.1");
    CHECK(v4.port == 8080);
    auto v6 = parse_request(
        bytes({5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1, 0, 80}));
    CHECK(v6.status == Status::ok);
    CHECK(v6.host == "::ffff:10.0.0.1"); // checked as 10.0.0.1 by the address policy
    // Every prefix of a good request needs more.
    auto full = domain_request(1, "example.com", 443);
    for (std::size_t n = 0; n < full.size(); ++n)
        CHECK(parse_request(std::span(full.data(), n)).status == Status::need_more);
    // BIND and UDP ASSOCIATE parse, and are answered "command not supported".
    CHECK(parse_request(domain_request(2, "example.com", 80)).reply ==
          Reply::command_not_supported);
    CHECK(parse_request(domain_request(3, "example.com", 80)).reply ==
          Reply::command_not_supported);
    auto atyp = parse_request(bytes({5, 1, 0, 7, 1, 2}));
    CHECK(atyp.status == Status::bad);
    CHECK(atyp.reply == Reply::address_type_not_supported);
    CHECK(parse_request(bytes({5, 1, 1, 3})).status == Status::bad);           // reserved byte
    CHECK(parse_request(bytes({4, 1, 0, 1})).status == Status::bad);           // version
    CHECK(parse_request(bytes({5, 1, 0, 3, 0, 0, 80})).status == Status::bad); // empty name
}

TEST_CASE("socks5 replies") {
    CHECK(reply(Reply::not_allowed) == std::string("\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00", 10));
    auto addr = bytes({127, 0, 0, 1});
    CHECK(reply(Reply::succeeded, addr, 0x1234) ==
          std::string("\x05\x00\x00\x01\x7f\x00\x00\x01\x12\x34", 10));
    std::vector<std::uint8_t> v6(16, 0);
    v6[15] = 1;
    auto r6 = reply(Reply::succeeded, v6, 80);
    CHECK(r6.size() == 22);
    CHECK(r6[3] == 4);
}
