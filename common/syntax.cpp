// See syntax.hpp.
#include "common/syntax.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace common {

namespace {

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

Parsed<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    if (all_digits(text) && text.size() <= 5) {
        std::from_chars(text.data(), text.data() + text.size(), value);
    }
    if (value == 0 || value > 65535) {
        return fail(fmt::format("port '{}' is not a number from 1 to 65535", text));
    }
    return static_cast<std::uint16_t>(value);
}

Parsed<Cidr> parse_cidr(std::string_view text) {
    auto slash = text.find('/');
    auto host = text.substr(0, slash);
    boost::system::error_code ec;
    auto net = boost::asio::ip::make_address(std::string(host), ec);
    if (ec) {
        return fail(fmt::format("CIDR '{}': '{}' is not an IP address", text, host));
    }
    unsigned max = net.is_v4() ? 32 : 128;
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        if (!all_digits(digits) || digits.size() > 3) {
            return fail(fmt::format("CIDR '{}': prefix length is not a number", text));
        }
        std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (prefix > max) {
            return fail(fmt::format("CIDR '{}': prefix length above {}", text, max));
        }
    }
    return Cidr{net, prefix, std::string(text)};
}

Parsed<int> parse_fd(std::string_view text, int min) {
    int fd = -1;
    if (all_digits(text)) {
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
        if (ec != std::errc{} || end != text.data() + text.size()) {
            fd = -1;
        }
    }
    if (fd < min) {
        return fail(fmt::format("fd '{}' is not a number of {} or more", text, min));
    }
    return fd;
}

Parsed<std::uint64_t> parse_size(std::string_view text) {
    auto bad = [&] {
        return fail(fmt::format("size '{}' is not a number of bytes with an optional unit K, "
                                "M, G or T (e.g. 20G)",
                                text));
    };
    auto digits_end =
        std::find_if(text.begin(), text.end(), [](char c) { return c < '0' || c > '9'; });
    auto digits = text.substr(0, static_cast<std::size_t>(digits_end - text.begin()));
    auto unit = text.substr(digits.size());
    if (digits.empty() || digits.size() > 19)
        return bad();
    std::uint64_t value = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), value);
    unsigned shift = 0;
    if (!unit.empty()) {
        constexpr std::string_view units = "KMGT";
        auto at = units.find(static_cast<char>(unit.front() & ~0x20));
        auto rest = unit.substr(1);
        auto is = [&](std::string_view want) {
            return rest.size() == want.size() &&
                   std::equal(rest.begin(), rest.end(), want.begin(),
                              [](char a, char b) { return (a | 0x20) == b; });
        };
        if (at == std::string_view::npos || !(rest.empty() || is("b") || is("ib")))
            return bad();
        shift = 10 * static_cast<unsigned>(at + 1);
    }
    if (value == 0)
        return fail(fmt::format("size '{}' must be at least 1 byte", text));
    if (shift && value > (UINT64_MAX >> shift))
        return fail(fmt::format("size '{}' is too large", text));
    return value << shift;
}

} // namespace common
