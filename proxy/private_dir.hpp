// The image cache's directories (DIR, DIR/sha256, DIR/ca, ...) are the
// user's alone: made 0700 whatever the umask, by whichever of a user's
// proxies gets there first.
#pragma once

#include <filesystem>

namespace proxy {

// Creates each missing component of `dir` mode 0700 (chmod after mkdir, so
// the umask has no say), tolerating a concurrent creator; existing
// directories keep their mode. Throws std::runtime_error naming the
// component: one that is not a directory, or cannot be made.
void make_private_dirs(const std::filesystem::path& dir);

} // namespace proxy
