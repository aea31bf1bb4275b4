// --mask GLOB: files of the worktree that read as empty and cannot be
// written inside the cell (a .env, a *.pem). Matched when the cell starts,
// against the worktree's files at that moment; a file created later is not
// covered (docs/security.md says so). Each match gets an empty read-only
// file from the runtime dir bound over it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace launch {

// Shell-style glob on a relative path: `*`, `?` and `[...]` within one
// component, `**` for any number of components (`**/.env` is `.env`
// anywhere, the top included).
bool mask_matches(std::string_view glob, std::string_view path);

// The regular files under `root` (relative paths, symlinks neither
// followed nor matched) that a glob matches. Throws PrepareError (exit 70)
// when the tree has more than `max_entries` entries: a mask that cannot be
// applied in full fails the cell rather than leave a file readable.
std::vector<std::string> masked_files(const std::string& root,
                                      const std::vector<std::string>& globs,
                                      std::size_t max_entries = 200000);

} // namespace launch
