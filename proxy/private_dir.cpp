// See private_dir.hpp.
#include "proxy/private_dir.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/stat.h>

namespace proxy {

void make_private_dirs(const std::filesystem::path& dir) {
    auto fail = [](const std::filesystem::path& at, const char* what, int err) {
        throw std::runtime_error(fmt::format("{}: {}: {}", at.string(), what, std::strerror(err)));
    };
    std::filesystem::path so_far;
    for (const auto& part : dir) {
        so_far /= part;
        struct stat st {};
        if (::stat(so_far.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                fail(so_far, "cannot hold a directory", ENOTDIR);
            continue;
        }
        if (::mkdir(so_far.c_str(), 0700) == 0) {
            if (::chmod(so_far.c_str(), 0700) != 0)
                fail(so_far, "cannot chmod 0700", errno);
        } else if (errno != EEXIST) {
            fail(so_far, "cannot create the directory", errno);
        }
    }
}

} // namespace proxy
