// Result type of every pure parser: a value, or an error text that already
// names what was wrong (the caller adds the flag or FILE:LINE). Errors are
// returned as `fail(text)`: a bare string would be ambiguous with aggregates
// whose first member is a string (C++20 parenthesised init).
//
// net/ keeps its own `relay::Failure` (the error half of
// `result<T, Failure>`, with an ADL throw hook) for I/O steps; this one is
// for syntax.
#pragma once

#include <boost/system/result.hpp>
#include <string>

namespace common {

struct Fail {
    std::string text;
};

inline Fail fail(std::string text) {
    return {std::move(text)};
}

template <class T>
class Parsed : public boost::system::result<T, std::string> {
    using base = boost::system::result<T, std::string>;

public:
    using base::base;
    Parsed(Fail f) : base(boost::system::in_place_error, std::move(f.text)) {}
};

} // namespace common
