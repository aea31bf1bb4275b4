// Failure -> exception, for callers that prefer `.value()` over checking.
#include "net/failure.hpp"

#include <ostream>
#include <stdexcept>

namespace relay {

void throw_exception_from_error(Failure const& f, boost::source_location const&) {
    throw std::runtime_error(f.message);
}

std::ostream& operator<<(std::ostream& os, Failure const& f) {
    return os << f.message;
}

} // namespace relay
