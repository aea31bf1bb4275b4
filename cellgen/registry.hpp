// The one table of combinators, and composing a Jail from invocations of them.
#pragma once

#include "cellgen/combinator.hpp"

#include <vector>

namespace cellgen {

std::vector<Combinator> combinator_table();

const Combinator* find_combinator(const std::vector<Combinator>& table, std::string_view name);

// Applies the invocations in order to an empty Jail. `base` may only be first.
Jail compose(const std::vector<Invocation>& invocations, const std::vector<Combinator>& table,
             const Context& ctx);

} // namespace cellgen
