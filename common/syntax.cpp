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

} // namespace common
