// Finding the helper binaries a plan names: relay, proxy and cell-launch
// next to cellgen, then where they are installed (../libexec/unsafe-cell,
// off PATH: their names are too generic for bin/), then in the build tree
// (../relay/relay, ../launch/cell-launch), then on PATH; bwrap on PATH.
#pragma once

#include <optional>
#include <string>

namespace cellgen {

// `self_dir`: the directory of the running cellgen (from /proc/self/exe).
// NAME next to `self_dir`, else in ../libexec/unsafe-cell (installed), else
// in the build tree, where
// each program sits in the folder named after its source folder
// (build/cellgen/cellgen, build/launch/cell-launch, build/relay/relay). No PATH.
std::optional<std::string> find_sibling(const std::string& name, const std::string& self_dir);

std::optional<std::string> find_helper(const std::string& name, const std::string& self_dir,
                                       const std::optional<std::string>& path_env);

std::optional<std::string> find_on_path(const std::string& name,
                                        const std::optional<std::string>& path_env);

std::string self_exe_dir();

} // namespace cellgen
