// The escape hatch (jail.nix's unsafe-add-raw-args): bwrap arguments appended
// verbatim after everything else. Nothing checks them.
#include "cellgen/combinators/combinators.hpp"

namespace cellgen {

namespace {

void apply_raw_args(Jail& jail, const Invocation& inv, const Context&) {
    for (const auto& arg : inv.args) {
        jail.raw_args.push_back(RawArg{arg});
    }
}

} // namespace

std::vector<Combinator> raw_combinators() {
    return {
        {"raw-args", "ARGS...",
         "Append ARGS to bwrap's options verbatim, after everything else (unchecked; in a "
         "profile they are split at whitespace).",
         1, -1, apply_raw_args},
        {"raw-arg", "ARG",
         "Append one bwrap argument verbatim (use --raw-arg=--flag for arguments that start "
         "with '-').",
         1, 1, apply_raw_args},
    };
}

} // namespace cellgen
