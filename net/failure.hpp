// Failure: the error half of the `boost::system::result<T, Failure>` that the
// relay library returns where a plain error_code would lose the context (which
// endpoint, which path, which step). The message is ready to print.
#pragma once

#include <boost/assert/source_location.hpp>

#include <iosfwd>
#include <string>

namespace relay {

struct Failure {
    std::string message;
};

// Lets `result<T, Failure>::value()` throw; found by argument-dependent lookup.
[[noreturn]] void throw_exception_from_error(Failure const& f, boost::source_location const&);

// Prints the message (lets test frameworks and `result`'s printer show failures).
std::ostream& operator<<(std::ostream& os, Failure const& f);

} // namespace relay
