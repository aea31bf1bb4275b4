// Shell quoting for bash: one word per argument, single quotes with '\''.
#pragma once

#include "cellgen/arg.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace cellgen {

std::string shell_quote(std::string_view word);

// A runtime path becomes "$CELL_RT"/rel when no runtime dir is given.
std::string shell_word(const Arg& arg, const std::optional<std::string>& runtime_dir);

} // namespace cellgen
