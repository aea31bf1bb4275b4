// Finding the helper binaries a plan names: relay and proxy next to cellgen,
// then in the build tree (../relay/relay), then on PATH; bwrap on PATH.
#pragma once

#include <optional>
#include <string>

namespace cellgen {

// `self_dir`: the directory of the running cellgen (from /proc/self/exe).
std::optional<std::string> find_helper(const std::string& name, const std::string& self_dir,
                                       const std::optional<std::string>& path_env);

std::optional<std::string> find_on_path(const std::string& name,
                                        const std::optional<std::string>& path_env);

std::string self_exe_dir();

} // namespace cellgen
