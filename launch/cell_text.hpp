// doctor.sh (cell's usage and `cell doctor`), embedded at build time (see
// tools/embed_text.py) for the cell program to hand to bash.
#pragma once

#include <string_view>

namespace cellgen {

std::string_view cell_tools_text();

} // namespace cellgen
