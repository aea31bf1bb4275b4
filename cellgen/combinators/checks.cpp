// Argument checks shared by combinators; each failure names the invocation.
#include "combinators.hpp"

#include "../error.hpp"
#include "../validate.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

namespace cellgen {

void fail(const Invocation& inv, std::string_view message) {
    if (inv.origin == "--" + inv.name) {
        throw UsageError(fmt::format("{}: {}", inv.origin, message));
    }
    throw UsageError(fmt::format("{}: {}: {}", inv.origin, inv.name, message));
}

std::string jail_path_arg(const Invocation& inv, const std::string& path) {
    if (auto why = check_jail_path(path); !why.empty()) {
        fail(inv, fmt::format("'{}': {}", path, why));
    }
    return path;
}

std::string host_dir_arg(const Invocation& inv, const std::string& path) {
    if (path.empty()) {
        fail(inv, "empty path");
    }
    auto abs = absolute_host_path(path);
    std::error_code ec;
    if (!std::filesystem::is_directory(abs, ec)) {
        fail(inv, fmt::format("'{}': no such directory", path));
    }
    return abs;
}

std::string env_name_arg(const Invocation& inv, const std::string& name) {
    if (!is_env_name(name)) {
        fail(inv, fmt::format("'{}' is not a valid environment variable name", name));
    }
    return name;
}

} // namespace cellgen
