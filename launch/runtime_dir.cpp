#include "launch/runtime_dir.hpp"
#include "launch/fd.hpp"
#include "launch/launch_log.hpp"
#include "launch/setup_error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/mman.h>
#include <sys/stat.h>
#include <system_error>

namespace launch {

Fd nul_list_fd(const std::vector<std::string>& list, const std::string& dir) {
    std::string text;
    for (const auto& item : list) {
        text += item;
        text += '\0';
    }
    Fd fd(::memfd_create("cell-bwrap-args", MFD_CLOEXEC));
    if (!fd) {
        // No memfd (a seccomp profile, an old kernel): a file with no name.
        fd = Fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    }
    if (!fd) {
        throw_errno("cannot make a file for bwrap's options in " + dir);
    }
    if (!write_all(fd.get(), text)) {
        throw_errno("cannot write bwrap's options");
    }
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
        throw_errno("cannot rewind bwrap's options");
    }
    return fd;
}

void copy_private_devices(const std::vector<std::string>& devices, const std::string& dev_dir,
                          const LaunchLog& log) {
    if (::geteuid() != 0 || devices.empty()) {
        return;
    }
    std::vector<std::string> made;
    for (const auto& dev : devices) {
        struct stat st;
        if (::stat(dev.c_str(), &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
            continue; // not on this host: the plan's --dev-bind-try skips it
        }
        auto copy = dev_dir + "/" + std::filesystem::path(dev).filename().string();
        if (::mknod(copy.c_str(), st.st_mode, st.st_rdev) != 0) {
            int err = errno;
            if (err != EPERM && err != EACCES) {
                throw_errno("cannot make the private device node " + copy);
            }
            // Root without CAP_MKNOD (a user namespace, a container):
            // no copies at all, and the plan's --dev-bind-try skips them.
            for (const auto& c : made) {
                ::unlink(c.c_str());
            }
            log.say("warning: cannot make device nodes in " + dev_dir + " (" + std::strerror(err) +
                    "); the cell's /dev nodes are the host's");
            return;
        }
        made.push_back(copy);
        if (::chown(copy.c_str(), st.st_uid, st.st_gid) != 0 ||
            ::chmod(copy.c_str(), st.st_mode & 07777) != 0) {
            throw_errno("cannot set the owner and mode of " + copy);
        }
    }
    // A node on a nodev mount cannot be opened: probe with the null copy.
    auto null_copy = dev_dir + "/null";
    if (std::find(made.begin(), made.end(), null_copy) == made.end() ||
        Fd(::open(null_copy.c_str(), O_WRONLY | O_CLOEXEC))) {
        return;
    }
    for (const auto& copy : made) {
        ::unlink(copy.c_str());
    }
    log.say("warning: " + dev_dir +
            " is on a nodev filesystem; the cell's /dev nodes are the "
            "host's and, running as root, it could change their modes (set XDG_RUNTIME_DIR "
            "elsewhere)");
}

bool remove_tree(const std::string& path) noexcept {
    std::error_code ec;
    try {
        std::filesystem::remove_all(path, ec);
    } catch (const std::exception&) {
        // The error_code overload may still throw (bad_alloc; some
        // implementations when an entry goes away under them): in this
        // noexcept function that would end the launcher mid-cleanup.
        return false;
    }
    return !ec;
}

} // namespace launch
