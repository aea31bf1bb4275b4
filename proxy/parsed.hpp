// The proxy's names for the shared parser result (common/result.hpp): every
// pure parser here returns `Parsed<T>`, and errors are made with `fail(text)`.
#pragma once

#include "common/result.hpp"

namespace proxy {

using common::Fail;
using common::fail;
using common::Parsed;

} // namespace proxy
