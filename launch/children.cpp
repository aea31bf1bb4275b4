#include "launch/children.hpp"

#include "launch/fd.hpp"

#include <algorithm>
#include <charconv>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace launch {

std::optional<pid_t> parent_of(pid_t pid) {
    Fd f(::open(fmt::format("/proc/{}/stat", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!f) {
        return std::nullopt;
    }
    char buf[1024];
    auto n = ::read(f.get(), buf, sizeof buf);
    if (n <= 0) {
        return std::nullopt;
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    std::string_view text(buf, static_cast<size_t>(n));
    auto close = text.rfind(')');
    if (close == std::string_view::npos || close + 4 >= text.size()) {
        return std::nullopt;
    }
    auto rest = text.substr(close + 4);
    pid_t ppid = 0;
    if (std::from_chars(rest.data(), rest.data() + rest.size(), ppid).ec != std::errc{}) {
        return std::nullopt;
    }
    return ppid;
}

std::vector<pid_t> live_children() {
    std::vector<pid_t> out;
    pid_t self = ::getpid();
    std::ifstream list(fmt::format("/proc/self/task/{}/children", self));
    if (list) {
        for (pid_t pid; list >> pid;) {
            out.push_back(pid);
        }
        return out;
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        pid_t pid = 0;
        const auto name = entry.path().filename().string();
        if (std::from_chars(name.data(), name.data() + name.size(), pid).ec != std::errc{}) {
            continue;
        }
        if (parent_of(pid) == self) {
            out.push_back(pid);
        }
    }
    return out;
}

KillResult kill_children(const std::function<bool(pid_t)>& spare, const std::function<void()>& reap,
                         std::chrono::milliseconds limit) {
    KillResult result;
    auto deadline = std::chrono::steady_clock::now() + limit;
    // A KILLed process is usually gone within a fraction of a millisecond:
    // look again soon, then less often.
    useconds_t pause = 100;
    while (true) {
        reap();
        std::vector<pid_t> left;
        for (pid_t pid : live_children()) {
            if (!spare(pid)) {
                left.push_back(pid);
            }
        }
        if (left.empty()) {
            return result;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            result.survivors = std::move(left);
            return result;
        }
        for (pid_t pid : left) {
            if (std::find(result.killed.begin(), result.killed.end(), pid) == result.killed.end()) {
                result.killed.push_back(pid);
            }
            ::kill(pid, SIGKILL);
        }
        ::usleep(pause);
        pause = std::min<useconds_t>(pause * 2, 1000);
    }
}

} // namespace launch
