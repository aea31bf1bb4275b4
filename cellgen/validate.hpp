// Checks on user input shared by combinators and settings. Each returns an
// error text (empty when fine) so the caller can prefix the flag at fault.
#pragma once

#include <string>
#include <string_view>

namespace cellgen {

bool is_env_name(std::string_view name);            // POSIX: [A-Za-z_][A-Za-z0-9_]*
std::string check_jail_path(std::string_view path); // absolute, no "..", no NUL
std::string check_time_zone(std::string_view zone);
std::string absolute_host_path(std::string_view path); // relative to the cwd
// Why a cell must not take host directory `path` (absolute, normal) as its
// worktree or log dir: it is /, a whole-system directory (/etc, /usr, /nix,
// /proc, ...), or `home` (the caller's $HOME) or one of its parents. Empty
// when fine. Only the words are compared: the launcher passes resolved paths.
std::string check_cell_dir_scope(std::string_view path, std::string_view home);
// The flag that overrides check_cell_dir_scope.
inline constexpr const char* kSystemDirOverride = "--unsafe-allow-system-dir";

} // namespace cellgen
