// Parse -> compose -> plan -> render. Usage errors of any layer arrive here as
// UsageError and become one line and exit status 2; nothing is written to
// disk on any path (cellgen never creates files, the launcher does).
#include "cellgen/cli.hpp"

#include "cellgen/help_text.hpp"
#include "cellgen/helper_bins.hpp"
#include "cellgen/options.hpp"
#include "cellgen/registry.hpp"
#include "cellgen/render.hpp"
#include "cellgen/usage_error.hpp"
#include "cellgen/validate.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace cellgen {

namespace {

// `launcher`: the plan runs in a launcher (`cell`, --print plan|script), which
// reads the caller's environment itself.
Context make_context(const Request& req, const CliEnvironment& cli_env, bool launcher) {
    Context ctx{req.settings, cli_env.env, launcher};
    auto path = cli_env.env("PATH");
    if (!ctx.settings.relay_bin) {
        ctx.settings.relay_bin = find_helper("relay", cli_env.self_dir, path);
    }
    if (!ctx.settings.proxy_bin) {
        ctx.settings.proxy_bin = find_helper("proxy", cli_env.self_dir, path);
    }
    if (!ctx.settings.launch_bin) {
        ctx.settings.launch_bin = find_helper("cell-launch", cli_env.self_dir, path);
    }
    // Not on PATH: only where it is built or installed with the others.
    ctx.settings.connect_bin = find_sibling("cell-connect", cli_env.self_dir);
    ctx.settings.engine_bin = find_sibling("cell-engine", cli_env.self_dir);
    if (req.print == "script" && !ctx.settings.launch_bin) {
        throw UsageError("cell-launch not found next to cellgen, in ../libexec/unsafe-cell or on "
                         "PATH (use --launch-bin)");
    }
    return ctx;
}

// The worktree and log dir, as written (the launcher checks them again,
// resolved): `--worktree "$UNSET/"` fails here, before anything runs.
// A policy with nothing to enforce it is an error, not an open door; and
// --allow-all beside an allowlist is a contradiction.
void check_proxy_settings(const Jail& jail, const Context& ctx) {
    const auto& p = ctx.settings.proxy;
    const char* asked = !p.allow.empty()           ? "--allow"
                        : p.filter                 ? "--filter"
                        : !p.deny.empty()          ? "--deny"
                        : !p.allow_cidr.empty()    ? "--allow-cidr"
                        : !p.connect_ports.empty() ? "--connect-port"
                        : jail.allow_all_domains   ? "--allow-all"
                                                   : nullptr;
    if (asked && !jail.proxy) {
        throw UsageError(fmt::format("{}: this cell has no proxy to enforce it (its profile "
                                     "leaves out `proxy`): add --proxy, or drop {}",
                                     asked, asked));
    }
    if (jail.allow_all_domains && (!p.allow.empty() || p.filter)) {
        throw UsageError(fmt::format("--allow-all: and {} too; --allow-all admits every domain, "
                                     "so give one or the other",
                                     p.filter ? "--filter" : "--allow"));
    }
}

void check_dir_scopes(const Jail& jail, const Context& ctx) {
    if (jail.system_dirs_ok) {
        return;
    }
    // A wrapper rendered in a Nix build sees the builder's HOME, not the user's.
    auto home = ctx.defer_caller_env ? std::nullopt : ctx.env("HOME");
    auto home_path = home && !home->empty() ? absolute_host_path(*home) : std::string();
    for (const auto& d : jail.required_dirs) {
        if (auto why = check_cell_dir_scope(d.path, home_path); !why.empty()) {
            throw UsageError(fmt::format("{}: '{}' is {}", d.what, d.path, why));
        }
    }
}

void check_masks(const Jail& jail) {
    if (!jail.masks.empty() && !jail.worktree) {
        throw UsageError(fmt::format("--mask {}: masks files of the worktree, and this cell "
                                     "has no --worktree",
                                     jail.masks.front()));
    }
}

std::string bwrap_path(const Context& ctx) {
    if (ctx.settings.bwrap_bin) {
        return *ctx.settings.bwrap_bin;
    }
    auto found = find_on_path("bwrap", ctx.env("PATH"));
    if (!found) {
        throw UsageError("bwrap not found on PATH (install bubblewrap or use --bwrap-bin)");
    }
    return *found;
}

std::string render(const Plan& plan, const Request& req, const CliEnvironment& cli_env) {
    RenderOptions opts{req.runtime_dir, req.nul, cli_env.version};
    if (req.print == "argv") {
        return render_argv(plan, opts);
    }
    if (req.print == "json") {
        return render_json(plan, opts);
    }
    if (req.print == "plan") {
        return plan_to_json(plan) + "\n";
    }
    if (req.print == "script") {
        return render_script(plan, opts);
    }
    return render_shell(plan, opts);
}

// The plan, or what to print instead (--help, --version).
std::variant<Plan, CliResult> make_cli_plan(const std::vector<std::string>& args,
                                            const CliEnvironment& cli_env, Request& req,
                                            bool for_cell) {
    auto table = combinator_table();
    req = parse_request(args, table);
    if (req.help) {
        return CliResult{0, help_text(table), {}};
    }
    if (req.version) {
        return CliResult{0, "cellgen " + cli_env.version + "\n", {}};
    }
    auto ctx = make_context(req, cli_env, for_cell || req.print == "script" || req.print == "plan");
    ctx.renderer_env = !for_cell && (req.print == "script" || req.print == "plan");
    auto jail = compose(req.invocations, table, ctx);
    check_dir_scopes(jail, ctx);
    check_masks(jail);
    check_proxy_settings(jail, ctx);
    Binaries bins{bwrap_path(ctx), ctx.settings.relay_bin, ctx.settings.proxy_bin,
                  ctx.settings.launch_bin};
    auto plan = make_plan(jail, ctx.settings.proxy, bins, req.command);
    plan.version = cli_env.version;
    return plan;
}

CliResult run(const std::vector<std::string>& args, const CliEnvironment& cli_env) {
    Request req;
    auto planned = make_cli_plan(args, cli_env, req, false);
    if (auto* printed = std::get_if<CliResult>(&planned)) {
        return std::move(*printed);
    }
    const auto& plan = std::get<Plan>(planned);
    // argv's stdout is one argument per line: the policy goes to stderr.
    std::string err;
    if (req.print == "argv") {
        err = policy_comment(plan, RenderOptions{req.runtime_dir, req.nul, cli_env.version});
    }
    return {0, render(plan, req, cli_env), std::move(err)};
}

} // namespace

CliResult run_cli(const std::vector<std::string>& args, const CliEnvironment& cli_env) {
    try {
        return run(args, cli_env);
    } catch (const UsageError& e) {
        return {2, {}, std::string("cellgen: ") + e.what() + "\n"};
    }
}

std::variant<Plan, CliResult> plan_cli(const std::vector<std::string>& args,
                                       const CliEnvironment& cli_env) {
    try {
        Request req;
        auto planned = make_cli_plan(args, cli_env, req, true);
        if (auto* printed = std::get_if<CliResult>(&planned)) {
            return std::move(*printed);
        }
        if (req.runtime_dir) {
            throw UsageError("--runtime-dir: only with --print argv|shell|json (a cell's "
                             "launcher makes its own runtime dir)");
        }
        return std::move(std::get<Plan>(planned));
    } catch (const UsageError& e) {
        // plan_cli is `cell`'s: its errors are in the user's words.
        return CliResult{2, {}, std::string("cell: ") + e.what() + "\n"};
    }
}

int emit(const CliResult& result, const char* program) {
    std::fwrite(result.err.data(), 1, result.err.size(), stderr);
    if (std::fwrite(result.out.data(), 1, result.out.size(), stdout) != result.out.size() ||
        std::fflush(stdout) != 0) {
        std::fprintf(stderr, "%s: writing the output: %s\n", program, std::strerror(errno));
        return result.status == 0 ? 1 : result.status;
    }
    return result.status;
}

} // namespace cellgen
