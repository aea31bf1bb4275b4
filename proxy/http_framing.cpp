// See http_framing.hpp.
#include "proxy/http_framing.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace proxy {
namespace {

Parsed<std::uint64_t> content_length(const HeaderFields& fields) {
    auto values = field_values(fields, "Content-Length");
    if (values.size() > 1)
        return fail("repeated Content-Length");
    auto v = values.front();
    if (v.empty() || v.size() > 18 ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fail(fmt::format("Content-Length '{}' is not a decimal length", v));
    std::uint64_t n = 0;
    for (char c : v)
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    return n;
}

// Transfer-Encoding must end in exactly one "chunked"; earlier codings (gzip)
// are the payload's business and pass through untouched.
Parsed<void> check_transfer_coding(const std::vector<std::string>& codings) {
    if (codings.empty())
        return fail("empty Transfer-Encoding");
    auto chunked = std::count_if(codings.begin(), codings.end(),
                                 [](const std::string& c) { return iequals(c, "chunked"); });
    if (!iequals(codings.back(), "chunked") || chunked != 1)
        return fail(fmt::format("Transfer-Encoding '{}' does not end in a single chunked",
                                fmt::join(codings, ", ")));
    return {};
}

bool has_field(const HeaderFields& fields, std::string_view name) {
    return !field_values(fields, name).empty();
}

} // namespace

Parsed<Framing> request_framing(const RequestHead& req) {
    bool te = has_field(req.fields, "Transfer-Encoding");
    bool cl = has_field(req.fields, "Content-Length");
    if (te && cl)
        return fail("both Content-Length and Transfer-Encoding");
    if (te) {
        if (req.minor_version == 0)
            return fail("Transfer-Encoding in an HTTP/1.0 request");
        auto ok = check_transfer_coding(field_list(req.fields, "Transfer-Encoding"));
        if (!ok)
            return fail(ok.error());
        return Framing{BodyKind::chunked, 0};
    }
    if (cl) {
        auto n = content_length(req.fields);
        if (!n)
            return fail(n.error());
        return *n == 0 ? Framing{} : Framing{BodyKind::length, *n};
    }
    return Framing{};
}

Parsed<Framing> response_framing(const ResponseHead& res, std::string_view request_method) {
    if (request_method == "HEAD" || res.status < 200 || res.status == 204 || res.status == 304)
        return Framing{};
    bool te = has_field(res.fields, "Transfer-Encoding");
    bool cl = has_field(res.fields, "Content-Length");
    if (te && cl)
        return fail("upstream sent both Content-Length and Transfer-Encoding");
    if (te) {
        auto codings = field_list(res.fields, "Transfer-Encoding");
        // A response not ending in chunked is delimited by closing (§6.3 rule 4).
        if (codings.empty() || !iequals(codings.back(), "chunked"))
            return Framing{BodyKind::until_close, 0};
        auto ok = check_transfer_coding(codings);
        if (!ok)
            return fail("upstream " + ok.error());
        return Framing{BodyKind::chunked, 0};
    }
    if (cl) {
        auto n = content_length(res.fields);
        if (!n)
            return fail("upstream " + n.error());
        return Framing{BodyKind::length, *n};
    }
    return Framing{BodyKind::until_close, 0};
}

bool keeps_alive(int minor_version, const HeaderFields& fields) {
    auto tokens = field_list(fields, "Connection");
    auto has = [&](std::string_view t) {
        return std::any_of(tokens.begin(), tokens.end(),
                           [&](const std::string& s) { return iequals(s, t); });
    };
    if (has("close"))
        return false;
    return minor_version >= 1 || has("keep-alive");
}

} // namespace proxy
