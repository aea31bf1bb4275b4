// `--print shell`: the policy as comment lines (render_policy.cpp), then a
// single copy-pasteable bash command. Without --runtime-dir
// the runtime paths expand "$CELL_RT", which the reader sets to a directory
// holding the files the plan lists (the launcher does this itself).
#include "cellgen/render.hpp"

#include "cellgen/shell_quote.hpp"

namespace cellgen {

std::string render_shell(const Plan& plan, const RenderOptions& opts) {
    std::string out = policy_comment(plan, opts);
    bool first = true;
    for (const auto& arg : full_argv(plan)) {
        if (!first) {
            out += ' ';
        }
        first = false;
        out += shell_word(arg, opts.runtime_dir);
    }
    out += '\n';
    return out;
}

} // namespace cellgen
