// Warnings for filter patterns that match more than they look like. The
// tinyproxy meaning is an unanchored substring search, so `github\.com`
// admits `github.com.evil.net` and `notgithub.com`; an unescaped `.` admits
// any character. fnmatch patterns are anchored, but a leading `*` without a
// dot after it still admits `evilexample.com`.
#include "policy/filter.hpp"

#include <fmt/format.h>

#include <cctype>

namespace policy {
namespace {

// A '.' that is a regex wildcard: not escaped and not inside a bracket.
bool has_bare_dot(std::string_view p) {
    bool bracket = false;
    for (std::size_t i = 0; i < p.size(); ++i) {
        char c = p[i];
        if (c == '\\') {
            ++i;
            continue;
        }
        if (c == '[')
            bracket = true;
        else if (c == ']')
            bracket = false;
        else if (c == '.' && !bracket && !(i + 1 < p.size() && p[i + 1] == '*'))
            return true;
    }
    return false;
}

bool ends_anchored(std::string_view p) {
    return p.size() >= 1 && p.back() == '$' && !(p.size() >= 2 && p[p.size() - 2] == '\\');
}

// The host a simple pattern (letters, digits, '-', '\\.', '.') spells, so a
// warning can show a concrete extra match; "<match>" otherwise.
std::string literal_of(std::string_view p) {
    if (p.starts_with('^'))
        p.remove_prefix(1);
    if (ends_anchored(p))
        p.remove_suffix(1);
    std::string out;
    for (std::size_t i = 0; i < p.size(); ++i) {
        char c = p[i];
        if (c == '\\' && i + 1 < p.size() && p[i + 1] == '.')
            continue;
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.')
            return "<match>";
        out += c;
    }
    return out;
}

std::vector<std::string> regex_warnings(std::string_view p) {
    std::vector<std::string> out;
    auto host = literal_of(p);
    if (p.front() != '^')
        out.push_back(fmt::format("'{}' is not anchored with ^: it also matches evil-{} "
                                  "(tinyproxy matches a substring); start it with ^ or (^|\\.) "
                                  "in ere",
                                  p, host));
    if (!ends_anchored(p))
        out.push_back(fmt::format("'{}' is not anchored with $: it also matches {}.evil.net; "
                                  "end it with $",
                                  p, host));
    if (has_bare_dot(p))
        out.push_back(fmt::format("'{}' has an unescaped '.', which matches any character; "
                                  "write \\. for a literal dot",
                                  p));
    return out;
}

std::vector<std::string> fnmatch_warnings(std::string_view p) {
    std::vector<std::string> out;
    if (p.front() == '*' && !(p.size() > 1 && (p[1] == '.' || p[1] == '*')))
        out.push_back(fmt::format("'{}' starts with * without a dot after it: it also matches "
                                  "hosts that merely end with the rest (e.g. evil{})",
                                  p, p.substr(1)));
    if (p.back() == '*')
        out.push_back(fmt::format("'{}' ends with *: it also matches any longer host "
                                  "(e.g. {}evil.net)",
                                  p, p.substr(0, p.size() - 1)));
    return out;
}

} // namespace

std::vector<std::string> pattern_warnings(std::string_view pattern, FilterType type) {
    if (pattern.empty())
        return {};
    return type == FilterType::fnmatch ? fnmatch_warnings(pattern) : regex_warnings(pattern);
}

} // namespace policy
