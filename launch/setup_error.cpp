#include "launch/setup_error.hpp"

#include <cerrno>
#include <cstring>

namespace launch {

void throw_errno(const std::string& what) {
    throw SetupError(what + ": " + std::strerror(errno));
}

} // namespace launch
