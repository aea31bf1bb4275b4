// The one error type of cellgen: a usage error whose text already names the
// flag, file:line or combinator at fault. The CLI turns it into one line on
// stderr and exit status 2.
#pragma once

#include <stdexcept>
#include <string>

namespace cellgen {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace cellgen
