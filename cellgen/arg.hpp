// Argument values of a plan. A bwrap argument is either literal text or a path
// inside the cell's private runtime dir, which only exists once the launcher
// has made it; keeping the two apart lets each renderer place the runtime dir
// its own way (a literal dir, "$CELL_RT" text, or a shell expansion).
// Raw args are a third, distinct kind: appended verbatim, never interpreted.
#pragma once

#include <string>
#include <variant>
#include <vector>

namespace cellgen {

// A path relative to the runtime dir, e.g. RuntimePath{"proxy/proxy.sock"}; `text_before`
// is literal text in front of the dir, as in an endpoint "unix:$CELL_RT/nix/socket".
struct RuntimePath {
    std::string rel;
    std::string text_before = {};
    bool operator==(const RuntimePath&) const = default;
};

using Arg = std::variant<std::string, RuntimePath>;
using Args = std::vector<Arg>;

// One `raw-args` argument (jail.nix's unsafe-add-raw-args): passed to bwrap as is.
struct RawArg {
    std::string text;
    bool operator==(const RawArg&) const = default;
};

// How a renderer spells the runtime dir.
struct RuntimeDir {
    std::string prefix; // "$CELL_RT" or an absolute dir
};

// Literal text of an argument with the runtime dir spelled as `rt.prefix`.
inline std::string arg_text(const Arg& arg, const RuntimeDir& rt) {
    if (const auto* text = std::get_if<std::string>(&arg)) {
        return *text;
    }
    const auto& path = std::get<RuntimePath>(arg);
    return path.text_before + rt.prefix + "/" + path.rel;
}

} // namespace cellgen
