// The errors of cell-launch. A SetupError means the cell could not be set up
// (exit 70); its text names the step and the path or daemon at fault.
#pragma once

#include <stdexcept>
#include <string>

namespace launch {

class SetupError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "WHAT: strerror(errno)" as a SetupError.
[[noreturn]] void throw_errno(const std::string& what);

} // namespace launch
