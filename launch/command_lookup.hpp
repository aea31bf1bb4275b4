// Is the command there inside the jail? Asked before anything starts, so
// that a typo exits 127 with `cell: CMD: not found inside the cell` rather
// than bwrap's `execvp CMD: No such file or directory` and status 1, which a
// caller cannot tell from the command's own failure.
//
// The answer is read from bwrap's options, not from a running jail: each
// path component is looked up through the mount that covers it (the last
// bind, tmpfs or symlink whose destination is it or a parent), on the host
// side of a bind, following symlinks as the jail would see them. Where the
// options hold something this cannot see through (a --file, --bind-data,
// an overlay, an option it does not know, no --chdir for a relative path),
// the answer is `unknown` and bwrap is left to decide: only a certain
// absence stops a cell.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace launch {

enum class Lookup { found, missing, unknown };

// `command` as execvp would look for it (a name with no slash along the
// jail's PATH: the last --setenv PATH, else `caller_path` unless --clearenv,
// else /bin:/usr/bin), in the jail `bwrap_args` build.
Lookup lookup_in_jail(const std::vector<std::string>& bwrap_args, const std::string& command,
                      const std::optional<std::string>& caller_path);

} // namespace launch
