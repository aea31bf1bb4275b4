// See host_normalize.hpp for the rules and why each spelling is refused.
#include "policy/host_normalize.hpp"

#include <arpa/inet.h>
#include <boost/url/grammar/parse.hpp>
#include <boost/url/rfc/ipv4_address_rule.hpp>
#include <boost/url/rfc/ipv6_address_rule.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace policy {
namespace {

constexpr std::size_t max_name = 253;
constexpr std::size_t max_label = 63;

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

// inet_aton accepts "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1": a
// resolver turns such a "name" into an address the filter never saw.
bool legacy_ipv4(const std::string& s) {
    in_addr addr{};
    return inet_aton(s.c_str(), &addr) != 0;
}

Parsed<Host> check_name(std::string s) {
    if (s.size() > max_name)
        return fail(fmt::format("host is longer than {} characters", max_name));
    std::size_t start = 0;
    while (start <= s.size()) {
        auto end = std::min(s.find('.', start), s.size());
        auto len = end - start;
        if (len == 0)
            return fail(fmt::format("host '{}' has an empty label", s));
        if (len > max_label)
            return fail(fmt::format("host '{}' has a label longer than {}", s, max_label));
        start = end + 1;
    }
    if (boost::urls::grammar::parse(s, boost::urls::ipv4_address_rule).has_value())
        return Host{std::move(s), HostKind::ipv4};
    if (legacy_ipv4(s))
        return fail(
            fmt::format("host '{}' is a non-canonical IPv4 literal; write it as a.b.c.d", s));
    return Host{std::move(s), HostKind::name};
}

} // namespace

std::string Host::authority() const {
    return kind == HostKind::ipv6 ? "[" + name + "]" : name;
}

Parsed<Host> normalize_host(std::string_view raw) {
    if (raw.empty())
        return fail("empty host");
    std::string s(raw);
    if (std::any_of(s.begin(), s.end(),
                    [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
        return fail(fmt::format("host '{}' is not ASCII; write IDNs as punycode (xn--...)", s));
    if (s.find('%') != std::string::npos)
        return fail(fmt::format("host '{}' is percent-encoded; write it plainly", s));
    std::transform(s.begin(), s.end(), s.begin(), lower);
    if (s.find(':') != std::string::npos) {
        if (!boost::urls::grammar::parse(s, boost::urls::ipv6_address_rule).has_value())
            return fail(fmt::format("host '{}' is not a valid IPv6 literal", s));
        return Host{std::move(s), HostKind::ipv6};
    }
    if (!std::all_of(s.begin(), s.end(), name_char))
        return fail(fmt::format("host '{}' has characters not allowed in a host name", s));
    if (s.back() == '.')
        s.pop_back();
    return check_name(std::move(s));
}

} // namespace policy
