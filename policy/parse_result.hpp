// The policy grammar's names for the shared parser result
// (common/result.hpp): every parser here returns `Parsed<T>`, and errors
// are made with `fail(text)`.
#pragma once

#include "common/result.hpp"

namespace policy {

using common::Fail;
using common::fail;
using common::Parsed;

} // namespace policy
