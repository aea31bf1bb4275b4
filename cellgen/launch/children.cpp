#include "children.hpp"

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

} // namespace launch
