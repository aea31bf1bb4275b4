// `--help`, generated from the option descriptions and the combinator table.
#pragma once

#include "cellgen/combinator.hpp"

#include <string>
#include <vector>

namespace cellgen {

std::string help_text(const std::vector<Combinator>& table);

} // namespace cellgen
