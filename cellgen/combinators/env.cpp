// The jail's environment. bwrap starts from a cleared env (base), so every
// variable the program sees is listed here and in the plan.
#include "cellgen/combinators/combinators.hpp"

#include <fmt/format.h>

namespace cellgen {

namespace {

// `NAME VALUE`, or one `NAME=VALUE` word so that `--set-env=OPTS=-Xmx1g` can carry a
// value starting with '-' (env names never contain '=').
void apply_set_env(Jail& jail, const Invocation& inv, const Context&) {
    std::string name = inv.args.at(0);
    std::string value = inv.args.size() > 1 ? inv.args[1] : std::string();
    if (auto eq = name.find('='); inv.args.size() == 1 && eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
    }
    jail.set_env(env_name_arg(inv, name), std::move(value));
}

void apply_fwd_env(Jail& jail, const Invocation& inv, const Context& ctx) {
    const auto& name = env_name_arg(inv, inv.args.at(0));
    if (ctx.defer_caller_env) {
        jail.forward_env({name, true, culprit(inv)});
        return;
    }
    auto value = ctx.env(name);
    if (!value) {
        fail(inv,
             fmt::format("{} is not set in the caller's environment (try-fwd-env skips it)", name));
    }
    jail.set_env(name, *value);
}

void apply_try_fwd_env(Jail& jail, const Invocation& inv, const Context& ctx) {
    const auto& name = env_name_arg(inv, inv.args.at(0));
    if (ctx.defer_caller_env) {
        jail.forward_env({name, false, culprit(inv)});
        return;
    }
    if (auto value = ctx.env(name)) {
        jail.set_env(name, *value);
    }
}

void apply_add_path(Jail& jail, const Invocation& inv, const Context&) {
    auto dir = jail_path_arg(inv, inv.args.at(0));
    if (dir.find(':') != std::string::npos) {
        fail(inv, "a PATH entry cannot contain ':'");
    }
    auto path = jail.env_value("PATH");
    jail.set_env("PATH", path && !path->empty() ? *path + ":" + dir : dir);
}

} // namespace

std::vector<Combinator> env_combinators() {
    return {
        {"set-env", "NAME VALUE",
         "Set NAME=VALUE in the jail; also one word NAME=VALUE (--set-env=OPTS=-Xmx1g for a "
         "value starting with '-').",
         1, 2, apply_set_env},
        {"fwd-env", "NAME",
         "Copy NAME from the caller's environment; an error when it is unset. With --print "
         "script, read when the script runs (a wrapper never carries the value).",
         1, 1, apply_fwd_env},
        {"try-fwd-env", "NAME", "Copy NAME from the caller's environment when it is set.", 1, 1,
         apply_try_fwd_env},
        {"add-path", "DIR", "Append jail DIR to PATH.", 1, 1, apply_add_path},
    };
}

} // namespace cellgen
