// Destination address policy and the TLS ClientHello SNI reader.
#include "proxy/address_policy.hpp"
#include "proxy/tls_sni.hpp"

#include <boost/asio/ip/address.hpp>
#include <catch2/catch.hpp>

#include <vector>

using namespace proxy;
using boost::asio::ip::make_address;

TEST_CASE("special ranges are refused by default", "[address]") {
    struct Case {
        const char* addr;
        bool refused;
    };
    auto c = GENERATE(values<Case>({
        {"127.0.0.1", true},
        {"127.255.0.9", true},
        {"0.0.0.0", true},
        {"10.1.2.3", true},
        {"172.16.0.1", true},
        {"172.31.255.255", true},
        {"172.32.0.1", false},
        {"192.168.1.1", true},
        {"100.64.0.1", true},
        {"100.127.255.255", true},
        {"100.128.0.1", false},
        {"169.254.169.254", true},
        {"224.0.0.1", true},
        {"255.255.255.255", true},
        {"93.184.216.34", false},
        {"8.8.8.8", false},
        {"::", true},
        {"::1", true},
        {"fe80::1", true},
        {"fc00::1", true},
        {"fd12:3456::1", true},
        {"ff02::1", true},
        {"::ffff:127.0.0.1", true},
        {"::ffff:169.254.169.254", true},
        {"::ffff:8.8.8.8", false},
        {"::127.0.0.1", true},
        {"64:ff9b::a9fe:a9fe", true},
        {"2606:4700::1111", false},
    }));
    CAPTURE(c.addr);
    AddressPolicy p;
    CHECK(p.refusal(make_address(c.addr)).has_value() == c.refused);
    AddressPolicy open{true, {}};
    // --allow-private opens every special range but cloud metadata.
    std::string a = c.addr;
    bool metadata =
        a == "169.254.169.254" || a == "::ffff:169.254.169.254" || a == "64:ff9b::a9fe:a9fe";
    CHECK(open.refusal(make_address(c.addr)).has_value() == metadata);
}

TEST_CASE("cloud metadata stays shut unless an --allow-cidr names it", "[address]") {
    AddressPolicy open{true, {}};
    for (const char* m :
         {"169.254.169.254", "169.254.170.2", "fd00:ec2::254", "::ffff:169.254.169.254"}) {
        CAPTURE(m);
        auto why = open.refusal(make_address(m));
        REQUIRE(why.has_value());
        CHECK(why->find("cloud metadata address") != std::string::npos);
    }
    AddressPolicy wide{false, {*parse_cidr("169.254.0.0/16")}};
    CHECK(wide.refusal(make_address("169.254.169.254")).has_value());
    CHECK_FALSE(wide.refusal(make_address("169.254.1.1")).has_value());
    AddressPolicy named{false, {*parse_cidr("169.254.169.254/32"), *parse_cidr("fd00:ec2::254")}};
    CHECK_FALSE(named.refusal(make_address("169.254.169.254")).has_value());
    CHECK_FALSE(named.refusal(make_address("fd00:ec2::254")).has_value());
}

TEST_CASE("allow-cidr opens exactly its range", "[address]") {
    AddressPolicy p{false, {*parse_cidr("127.0.0.0/8"), *parse_cidr("fd00::/8")}};
    CHECK_FALSE(p.refusal(make_address("127.0.0.1")).has_value());
    CHECK_FALSE(p.refusal(make_address("::ffff:127.0.0.1")).has_value());
    CHECK_FALSE(p.refusal(make_address("fd00::5")).has_value());
    CHECK(p.refusal(make_address("10.0.0.1")).has_value());
    CHECK(p.refusal(make_address("::1")).has_value());
    CHECK(*p.refusal(make_address("169.254.169.254")) ==
          "169.254.169.254 is a cloud metadata address (refused even with --allow-private; "
          "--allow-cidr 169.254.169.254/32 opens it)");
}

TEST_CASE("parse_cidr", "[address]") {
    CHECK(parse_cidr("10.0.0.0/8").has_value());
    CHECK(parse_cidr("10.0.0.1").has_value());
    CHECK(parse_cidr("::1/128").has_value());
    CHECK_FALSE(parse_cidr("10.0.0.0/33").has_value());
    CHECK_FALSE(parse_cidr("10.0.0.0/").has_value());
    CHECK_FALSE(parse_cidr("10.0.0.0/x").has_value());
    CHECK_FALSE(parse_cidr("example.com/8").has_value());
    CHECK(parse_cidr("10.0.0.0/8")->contains(make_address("10.200.0.1")));
    CHECK_FALSE(parse_cidr("10.0.0.0/8")->contains(make_address("11.0.0.1")));
}

namespace {

using Bytes = std::vector<std::uint8_t>;

// push_back, not insert(initializer_list): GCC 12 -O3 warns falsely on the latter.
void append(Bytes& b, std::initializer_list<std::uint8_t> bytes) {
    for (auto x : bytes)
        b.push_back(x);
}

void put16(Bytes& b, std::size_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

// A ClientHello with the given SNI (none when empty), split into records of
// at most `record_size` bytes.
Bytes client_hello(const std::string& sni, std::size_t record_size = 16384) {
    Bytes body = {3, 3};
    for (int i = 0; i < 32; ++i)
        body.push_back(0xab); // random
    body.push_back(0);        // session id
    put16(body, 2);
    append(body, {0x13, 0x01}); // one cipher suite
    append(body, {1, 0});       // null compression
    Bytes exts;
    put16(exts, 0x0a); // supported_groups first, so SNI is not at offset 0
    put16(exts, 4);
    append(exts, {0, 2, 0, 0x1d});
    if (!sni.empty()) {
        put16(exts, 0);
        put16(exts, sni.size() + 5);
        put16(exts, sni.size() + 3);
        exts.push_back(0);
        put16(exts, sni.size());
        exts.insert(exts.end(), sni.begin(), sni.end());
    }
    put16(body, exts.size());
    body.insert(body.end(), exts.begin(), exts.end());
    Bytes hs = {1, 0};
    put16(hs, body.size());
    hs.insert(hs.end(), body.begin(), body.end());
    Bytes out;
    for (std::size_t pos = 0; pos < hs.size(); pos += record_size) {
        auto n = std::min(record_size, hs.size() - pos);
        append(out, {22, 3, 1});
        put16(out, n);
        out.insert(out.end(), hs.begin() + pos, hs.begin() + pos + n);
    }
    return out;
}

} // namespace

TEST_CASE("SNI from a ClientHello", "[sni]") {
    using S = SniResult::Status;
    auto hello = client_hello("Example.COM.");
    auto r = inspect_client_hello(hello);
    CHECK(r.status == S::sni);
    CHECK(r.name == "example.com");
    CHECK(inspect_client_hello(client_hello("")).status == S::no_sni);
    auto split = client_hello("split.example", 20);
    CHECK(inspect_client_hello(split).name == "split.example");
    for (std::size_t n = 0; n < hello.size(); ++n)
        CHECK(inspect_client_hello(std::span(hello).first(n)).status == S::need_more);
    Bytes http = {'G', 'E', 'T', ' '};
    CHECK(inspect_client_hello(http).status == S::not_tls);
    Bytes bad = hello;
    bad[5] = 2; // ServerHello, not ClientHello
    CHECK(inspect_client_hello(bad).status == S::malformed);
    Bytes truncated_ext = hello;
    truncated_ext[truncated_ext.size() - 1 - 12 - 8] ^= 0x40; // corrupt the extensions length
    CHECK(inspect_client_hello(truncated_ext).status != S::sni);
    Bytes wrong_version = hello;
    wrong_version[1] = 2;
    CHECK(inspect_client_hello(wrong_version).status == S::malformed);
}
