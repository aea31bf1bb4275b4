// Renderers: format a Plan, decide nothing.
#pragma once

#include "cellgen/plan.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace cellgen {

struct RenderOptions {
    // Where runtime paths live; unset: the text "$CELL_RT" (a shell expansion in
    // shell and script output).
    std::optional<std::string> runtime_dir;
    bool nul = false; // argv: NUL-separated
    std::string version;
};

std::string render_argv(const Plan& plan, const RenderOptions& opts);
std::string render_shell(const Plan& plan, const RenderOptions& opts);
std::string render_json(const Plan& plan, const RenderOptions& opts);
std::string render_script(const Plan& plan, const RenderOptions& opts);

// The policy the plan's daemons enforce, as "# " lines (render_policy.cpp).
std::string policy_comment(const Plan& plan, const RenderOptions& opts);

// The full bwrap command: bwrap, options, "--", command.
Args full_argv(const Plan& plan);

} // namespace cellgen
