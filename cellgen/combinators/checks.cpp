// Argument checks shared by combinators; each failure names the invocation.
#include "cellgen/combinators/combinators.hpp"

#include "cellgen/usage_error.hpp"
#include "cellgen/validate.hpp"

#include <fmt/format.h>

namespace cellgen {

std::string culprit(const Invocation& inv) {
    if (inv.origin == "--" + inv.name) {
        return inv.origin;
    }
    return fmt::format("{}: {}", inv.origin, inv.name);
}

void fail(const Invocation& inv, std::string_view message) {
    throw UsageError(fmt::format("{}: {}", culprit(inv), message));
}

std::string jail_path_arg(const Invocation& inv, const std::string& path) {
    if (auto why = check_jail_path(path); !why.empty()) {
        fail(inv, fmt::format("'{}': {}", path, why));
    }
    return path;
}

std::string host_dir_arg(Jail& jail, const Invocation& inv, const std::string& path) {
    if (path.empty()) {
        fail(inv, "empty path");
    }
    auto abs = absolute_host_path(path);
    jail.required_dirs.push_back({culprit(inv), abs});
    return abs;
}

std::string env_name_arg(const Invocation& inv, const std::string& name) {
    if (!is_env_name(name)) {
        fail(inv, fmt::format("'{}' is not a valid environment variable name", name));
    }
    return name;
}

std::string user_cache_dir(const Invocation& inv, const Context& ctx,
                           const std::optional<std::string>& given, std::string_view flag,
                           std::string_view leaf) {
    if (given) {
        return *given;
    }
    if (ctx.renderer_env) {
        fail(inv, fmt::format("a wrapper script needs {} DIR (the directory of whoever runs it; "
                              "the renderer's home is not theirs)",
                              flag));
    }
    if (auto cache = ctx.env("XDG_CACHE_HOME"); cache && cache->starts_with('/')) {
        return fmt::format("{}/unsafe-cell/{}", *cache, leaf);
    }
    auto home = ctx.env("HOME");
    if (!home || !home->starts_with('/')) {
        fail(inv, fmt::format("neither XDG_CACHE_HOME nor HOME is set: give {} DIR", flag));
    }
    return fmt::format("{}/.cache/unsafe-cell/{}", *home, leaf);
}

} // namespace cellgen
