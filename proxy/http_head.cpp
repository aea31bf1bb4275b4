// See http_head.hpp.
#include "proxy/http_head.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace proxy {
namespace {

using Problem = HeadProblem;

Problem malformed(std::string text) {
    return {HeadError::malformed, std::move(text)};
}

bool tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool field_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Splits the head into lines at CRLF; a lone CR or LF is an error.
boost::system::result<std::vector<std::string_view>, Problem> split_lines(std::string_view head,
                                                                          HeadLimits limits) {
    if (head.size() > limits.bytes)
        return Problem{HeadError::too_large,
                       fmt::format("head is larger than {} bytes", limits.bytes)};
    if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n")
        return malformed("head does not end with an empty line");
    head.remove_suffix(2);
    std::vector<std::string_view> lines;
    while (!head.empty()) {
        auto crlf = head.find("\r\n");
        auto line = head.substr(0, crlf);
        if (line.find_first_of("\r\n") != std::string_view::npos)
            return malformed("bare CR or LF in head");
        lines.push_back(line);
        head.remove_prefix(crlf + 2);
    }
    if (lines.size() > limits.fields + 1)
        return Problem{HeadError::too_large,
                       fmt::format("more than {} header fields", limits.fields)};
    return lines;
}

boost::system::result<HeaderFields, Problem>
parse_fields(const std::vector<std::string_view>& lines) {
    HeaderFields fields;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        auto line = lines[i];
        if (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            return malformed("obsolete line folding in header field");
        auto colon = line.find(':');
        if (colon == std::string_view::npos)
            return malformed(fmt::format("header line without ':': '{}'", line.substr(0, 40)));
        auto name = line.substr(0, colon);
        if (!is_token(name))
            return malformed(fmt::format("bad header field name '{}'", name.substr(0, 40)));
        auto value = trim_ows(line.substr(colon + 1));
        if (!std::all_of(value.begin(), value.end(), field_char))
            return malformed(fmt::format("control character in header field '{}'", name));
        fields.push_back({std::string(name), std::string(value)});
    }
    return fields;
}

// "HTTP/1.0" or "HTTP/1.1" -> minor version.
std::optional<int> parse_version(std::string_view v) {
    if (v.size() != 8 || v.substr(0, 7) != "HTTP/1." || v[7] < '0' || v[7] > '9')
        return std::nullopt;
    return v[7] - '0';
}

} // namespace

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto l = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
               return l(x) == l(y);
           });
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), tchar);
}

boost::system::result<RequestHead, HeadProblem> parse_request_head(std::string_view head,
                                                                   HeadLimits limits) {
    auto lines = split_lines(head, limits);
    if (!lines)
        return lines.error();
    auto line = lines->front();
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return malformed("request line is not 'METHOD TARGET HTTP/1.x'");
    RequestHead req;
    req.method = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    auto version = parse_version(line.substr(sp2 + 1));
    if (!is_token(req.method))
        return malformed("request method is not a token");
    if (req.target.empty() || !std::all_of(req.target.begin(), req.target.end(),
                                           [](char c) { return c > 0x20 && c < 0x7f; }))
        return malformed("request target is empty or has bad characters");
    if (!version)
        return malformed(fmt::format("unsupported version '{}'", line.substr(sp2 + 1)));
    req.minor_version = *version;
    auto fields = parse_fields(*lines);
    if (!fields)
        return fields.error();
    req.fields = std::move(*fields);
    return req;
}

boost::system::result<ResponseHead, HeadProblem> parse_response_head(std::string_view head,
                                                                     HeadLimits limits) {
    auto lines = split_lines(head, limits);
    if (!lines)
        return lines.error();
    auto line = lines->front();
    // "HTTP/1.1 200 OK": the reason may be empty and may contain spaces.
    if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' '))
        return malformed("status line is not 'HTTP/1.x NNN reason'");
    auto version = parse_version(line.substr(0, 8));
    auto code = line.substr(9, 3);
    if (!version ||
        !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return malformed("status line is not 'HTTP/1.x NNN reason'");
    ResponseHead res;
    res.minor_version = *version;
    res.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (res.status < 100)
        return malformed("status code below 100");
    res.reason = line.size() > 13 ? line.substr(13) : std::string_view();
    auto fields = parse_fields(*lines);
    if (!fields)
        return fields.error();
    res.fields = std::move(*fields);
    return res;
}

std::vector<std::string_view> field_values(const HeaderFields& fields, std::string_view name) {
    std::vector<std::string_view> out;
    for (const auto& f : fields)
        if (iequals(f.name, name))
            out.push_back(f.value);
    return out;
}

std::vector<std::string> field_list(const HeaderFields& fields, std::string_view name) {
    std::vector<std::string> out;
    for (auto value : field_values(fields, name)) {
        while (!value.empty()) {
            auto comma = value.find(',');
            auto item = trim_ows(value.substr(0, comma));
            if (!item.empty())
                out.emplace_back(item);
            value.remove_prefix(comma == std::string_view::npos ? value.size() : comma + 1);
        }
    }
    return out;
}

} // namespace proxy
