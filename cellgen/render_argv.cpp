// `--print argv` and `--print shell`: the one bwrap command, as lines (or NUL
// separated) and as a single bash command line.
#include "cellgen/render.hpp"

#include "cellgen/shell_quote.hpp"

namespace cellgen {

Args full_argv(const Plan& plan) {
    Args all{plan.bwrap};
    all.insert(all.end(), plan.bwrap_args.begin(), plan.bwrap_args.end());
    all.emplace_back(std::string("--"));
    for (auto& word : plan.command) {
        all.emplace_back(std::move(word));
    }
    return all;
}

std::string render_argv(const Plan& plan, const RenderOptions& opts) {
    RuntimeDir rt{opts.runtime_dir.value_or("$CELL_RT")};
    std::string out;
    for (const auto& arg : full_argv(plan)) {
        out += arg_text(arg, rt);
        out += opts.nul ? '\0' : '\n';
    }
    return out;
}

} // namespace cellgen
