// See registry_path.hpp.
#include "proxy/registry_path.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace proxy {
namespace {

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// A repository name component: [a-z0-9] runs joined by '.', '_', '__' or
// '-'s (the distribution spec's grammar, loosely: what matters here is that
// nothing in it can change the path's meaning).
bool is_name_component(std::string_view c) {
    if (c.empty() || c == "." || c == "..")
        return false;
    return std::all_of(c.begin(), c.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
               ch == '-';
    });
}

} // namespace

std::optional<std::string> blob_digest(std::string_view origin_form) {
    auto path = origin_form.substr(0, origin_form.find('?'));
    constexpr std::string_view prefix = "/v2/";
    constexpr std::string_view marker = "/blobs/sha256:";
    if (!path.starts_with(prefix))
        return std::nullopt;
    auto at = path.rfind(marker);
    if (at == std::string_view::npos || at <= prefix.size()) // the name is not empty
        return std::nullopt;
    auto hex = path.substr(at + marker.size());
    if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), is_lower_hex))
        return std::nullopt;
    auto name = path.substr(prefix.size(), at - prefix.size());
    while (!name.empty()) {
        auto slash = name.find('/');
        if (!is_name_component(name.substr(0, slash)))
            return std::nullopt;
        name = slash == std::string_view::npos ? std::string_view() : name.substr(slash + 1);
        if (slash != std::string_view::npos && name.empty())
            return std::nullopt; // a trailing '/'
    }
    return std::string(hex);
}

Parsed<Target> parse_cache_registry(std::string_view text) {
    bool has_port = text.starts_with('[') ? text.find("]:") != std::string_view::npos
                                          : text.find(':') != std::string_view::npos;
    auto t = parse_authority_form(has_port ? std::string(text) : fmt::format("{}:443", text));
    if (!t)
        return fail(fmt::format("'{}' is not HOST[:PORT]: {}", text, t.error()));
    return t;
}

} // namespace proxy
