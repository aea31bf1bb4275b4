#include "children.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace launch {

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
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line)) {
            continue;
        }
        // pid (comm) state ppid ...: comm may hold spaces and parentheses.
        auto close = line.rfind(')');
        if (close == std::string::npos) {
            continue;
        }
        std::istringstream rest(line.substr(close + 1));
        std::string state;
        pid_t ppid = 0;
        if (rest >> state >> ppid && ppid == self) {
            out.push_back(static_cast<pid_t>(std::stol(entry.path().filename().string())));
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
