// The combinator groups; registry.cpp puts them into the one table.
#pragma once

#include "cellgen/combinator.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cellgen {

std::vector<Combinator> base_combinators();        // base.cpp
std::vector<Combinator> host_system_combinators(); // host_system.cpp
std::vector<Combinator> bind_combinators();        // binds.cpp
std::vector<Combinator> fs_combinators();          // fs.cpp
std::vector<Combinator> env_combinators();         // env.cpp
std::vector<Combinator> process_combinators();     // process.cpp
std::vector<Combinator> nix_combinators();         // nix.cpp
std::vector<Combinator> proxy_combinators();       // proxy.cpp
std::vector<Combinator> ssh_agent_combinators();   // ssh_agent.cpp
std::vector<Combinator> container_combinators();   // containers.cpp
std::vector<Combinator> image_cache_combinators(); // image_cache.cpp
std::vector<Combinator> cell_dir_combinators();    // cell_dirs.cpp
std::vector<Combinator> raw_combinators();         // raw_args.cpp

// "--worktree" for a flag, "FILE:3: worktree" for a profile line.
std::string culprit(const Invocation& inv);

// Shared argument checks that fail with the invocation's origin.
std::string jail_path_arg(const Invocation& inv, const std::string& path);
// An absolute host directory, recorded in jail.required_dirs for the launcher.
std::string host_dir_arg(Jail& jail, const Invocation& inv, const std::string& path);
std::string env_name_arg(const Invocation& inv, const std::string& name);
// A per-user directory on the host: `given` (the FLAG's value), else
// $XDG_CACHE_HOME/unsafe-cell/LEAF, else ~/.cache/unsafe-cell/LEAF; a
// wrapper script (rendered for someone else) must be given FLAG.
std::string user_cache_dir(const Invocation& inv, const Context& ctx,
                           const std::optional<std::string>& given, std::string_view flag,
                           std::string_view leaf);

} // namespace cellgen
