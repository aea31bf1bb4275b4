// launcher.sh, embedded at build time (see embed_text.py) so a generated
// script and `cell` carry byte-identical launcher code.
#pragma once

#include <string_view>

namespace cellgen {

std::string_view launcher_text();

} // namespace cellgen
