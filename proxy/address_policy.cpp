// See address_policy.hpp. Ranges: RFC 6890 special-purpose registries, the
// subset a host-local attacker could use.
#include "proxy/address_policy.hpp"

#include <fmt/format.h>

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <memory>

namespace proxy {
namespace {

using boost::asio::ip::address;
using boost::asio::ip::address_v4;
using boost::asio::ip::address_v6;

struct Range {
    std::string_view cidr;
    std::string_view name;
};

constexpr std::array<Range, 17> special = {{
    {"0.0.0.0/8", "unspecified (this network)"},
    {"127.0.0.0/8", "loopback"},
    {"10.0.0.0/8", "private (RFC 1918)"},
    {"172.16.0.0/12", "private (RFC 1918)"},
    {"192.168.0.0/16", "private (RFC 1918)"},
    {"100.64.0.0/10", "shared (CGNAT, RFC 6598)"},
    {"169.254.0.0/16", "link-local (cloud metadata)"},
    {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved or broadcast"},
    {"::/128", "unspecified"},
    {"::1/128", "loopback"},
    {"fe80::/10", "link-local"},
    {"fec0::/10", "site-local"},
    {"fc00::/7", "unique local (ULA)"},
    {"ff00::/8", "multicast"},
    {"100::/64", "discard-only"},
    {"2001:db8::/32", "documentation"},
}};

// ::ffff:a.b.c.d, ::a.b.c.d and 64:ff9b::a.b.c.d all reach an IPv4 host.
address unwrap(const address& a) {
    if (!a.is_v6())
        return a;
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6);
    auto b = v6.to_bytes();
    bool compat = std::all_of(b.begin(), b.begin() + 12, [](unsigned char c) { return c == 0; }) &&
                  !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1);
    static constexpr std::array<unsigned char, 12> nat64 = {0, 0x64, 0xff, 0x9b, 0, 0,
                                                            0, 0,    0,    0,    0, 0};
    if (compat || std::equal(nat64.begin(), nat64.end(), b.begin()))
        return address_v4(address_v4::bytes_type{b[12], b[13], b[14], b[15]});
    return a;
}

// Whether `a` is assigned to one of this host's interfaces. The kernel
// delivers a connection to any own address locally, so a host whose NIC has
// a public (or any unlisted) address would otherwise expose every service
// bound to 0.0.0.0 or :: through the proxy. Listed at check time, not
// cached: addresses come and go (DHCP, VPNs). nullopt when the list cannot
// be read, and the caller refuses then (fail closed).
std::optional<bool> is_host_address(const address& a) {
    ifaddrs* raw = nullptr;
    if (::getifaddrs(&raw) != 0)
        return std::nullopt;
    std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> list(raw, &::freeifaddrs);
    for (auto* i = raw; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr)
            continue;
        if (i->ifa_addr->sa_family == AF_INET && a.is_v4()) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            if (address_v4(ntohl(in->sin_addr.s_addr)) == a.to_v4())
                return true;
        } else if (i->ifa_addr->sa_family == AF_INET6 && a.is_v6()) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            address_v6::bytes_type bytes;
            std::copy_n(in6->sin6_addr.s6_addr, bytes.size(), bytes.begin());
            if (bytes == a.to_v6().to_bytes())
                return true;
        }
    }
    return false;
}

} // namespace

bool Cidr::contains(const address& a) const {
    auto x = network.is_v4() ? unwrap(a) : a;
    if (x.is_v4() != network.is_v4())
        return false;
    auto prefix_equal = [&](const auto& p, const auto& q) {
        for (unsigned bit = 0; bit < prefix; ++bit) {
            unsigned mask = 0x80u >> (bit % 8);
            if ((p[bit / 8] & mask) != (q[bit / 8] & mask))
                return false;
        }
        return true;
    };
    if (x.is_v4())
        return prefix_equal(x.to_v4().to_bytes(), network.to_v4().to_bytes());
    return prefix_equal(x.to_v6().to_bytes(), network.to_v6().to_bytes());
}

Parsed<Cidr> parse_cidr(std::string_view text) {
    auto c = common::parse_cidr(text);
    if (!c)
        return fail(c.error());
    return Cidr{*c};
}

std::optional<std::string_view> special_range(const address& a) {
    auto x = unwrap(a);
    for (const auto& r : special) {
        auto c = parse_cidr(r.cidr);
        if (c && c->contains(x))
            return r.name;
    }
    return std::nullopt;
}

// Cloud metadata endpoints hand out the host's own credentials: shut even
// under --allow-private, and opened only by an --allow-cidr naming exactly
// that address (a wider range that holds it is not enough).
constexpr std::string_view metadata_addresses[] = {"169.254.169.254", "169.254.170.2",
                                                   "fd00:ec2::254"};

bool is_metadata(const address& x) {
    for (auto m : metadata_addresses)
        if (x == boost::asio::ip::make_address(m))
            return true;
    return false;
}

bool names_exactly(const Cidr& c, const address& x) {
    return c.network == x && c.prefix == (x.is_v4() ? 32U : 128U);
}

std::optional<std::string> AddressPolicy::refusal(const address& a) const {
    auto x = unwrap(a);
    if (is_metadata(x)) {
        for (const auto& c : allowed)
            if (names_exactly(c, x))
                return std::nullopt;
        return fmt::format("{} is a cloud metadata address (refused even with --allow-private; "
                           "--allow-cidr {}/{} opens it)",
                           a.to_string(), x.to_string(), x.is_v4() ? 32 : 128);
    }
    if (allow_private)
        return std::nullopt;
    for (const auto& c : allowed)
        if (c.contains(a))
            return std::nullopt;
    if (auto range = special_range(a))
        return fmt::format("{} is a {} address", a.to_string(), *range);
    // Only public-looking destinations get here, which cross the network
    // anyway; listing the interfaces costs far less than that.
    auto own = is_host_address(unwrap(a));
    if (!own)
        return fmt::format("{}: cannot list this host's addresses to check it", a.to_string());
    if (*own)
        return fmt::format("{} is one of this host's own addresses", a.to_string());
    return std::nullopt;
}

} // namespace proxy
