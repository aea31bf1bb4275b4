// HTTP/1.x message heads (RFC 9112): the request or status line and the
// header fields, parsed from the bytes up to and including the blank line.
// Strict on purpose: a proxy that reads a head differently from the server
// behind it is a request-smuggling hole, so obs-fold, whitespace before the
// colon, bare CR/LF and non-token names are errors, not guesses.
#pragma once

#include "proxy/parsed.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace proxy {

constexpr std::size_t max_head_bytes = 64 * 1024;
constexpr std::size_t max_header_fields = 200;

// What a parser accepts. The defaults are the proxy's policy for heads it
// reads; a head the proxy writes may carry the few fields it adds itself
// (Host, Via, Connection) on top of the ones it passed on.
struct HeadLimits {
    std::size_t bytes = max_head_bytes;
    std::size_t fields = max_header_fields;
};

// The most fields the proxy adds to a head it forwards.
constexpr std::size_t fields_added_by_proxy = 2;

struct HeaderField {
    std::string name;  // as sent; compare with iequals
    std::string value; // OWS trimmed
};

using HeaderFields = std::vector<HeaderField>;

struct RequestHead {
    std::string method;
    std::string target;
    int minor_version = 1; // HTTP/1.x
    HeaderFields fields;
};

struct ResponseHead {
    int status = 0;
    std::string reason;
    int minor_version = 1;
    HeaderFields fields;
};

// Why a head was refused; `too_large` maps to 431, the rest to 400 (502 upstream).
enum class HeadError { malformed, too_large };

struct HeadProblem {
    HeadError kind = HeadError::malformed;
    std::string text;
};

// `head` ends with the CRLF CRLF that closed it.
boost::system::result<RequestHead, HeadProblem> parse_request_head(std::string_view head,
                                                                   HeadLimits limits = {});
boost::system::result<ResponseHead, HeadProblem> parse_response_head(std::string_view head,
                                                                     HeadLimits limits = {});

bool iequals(std::string_view a, std::string_view b);
bool is_token(std::string_view s);

// Every value of the named field, in order (repeated fields are kept apart).
std::vector<std::string_view> field_values(const HeaderFields& fields, std::string_view name);
// The comma-separated list elements of every value of the named field.
std::vector<std::string> field_list(const HeaderFields& fields, std::string_view name);

} // namespace proxy
