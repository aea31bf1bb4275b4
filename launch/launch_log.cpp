#include "launch/launch_log.hpp"

#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace launch {

namespace {

// The last `count` lines of the file `fd` (its last 64 KiB at most).
std::vector<std::string> tail_lines(int fd, size_t count) {
    std::vector<std::string> lines;
    if (fd < 0) {
        return lines;
    }
    constexpr off_t kMax = 64 * 1024;
    off_t size = ::lseek(fd, 0, SEEK_END);
    off_t from = size > kMax ? size - kMax : 0;
    std::string text(static_cast<size_t>(size - from), '\0');
    auto n = ::pread(fd, text.data(), text.size(), from);
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    while (!text.empty() && text.back() == '\n') {
        text.pop_back();
    }
    size_t end = text.size();
    while (lines.size() < count && end > 0) {
        auto nl = text.rfind('\n', end - 1);
        size_t begin = nl == std::string::npos ? 0 : nl + 1;
        lines.insert(lines.begin(), text.substr(begin, end - begin));
        if (nl == std::string::npos) {
            break;
        }
        end = nl;
    }
    return lines;
}

} // namespace

void LaunchLog::note(std::string_view line) const {
    if (!fd_) {
        return;
    }
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::localtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%FT%T", &tm);
    write_all(fd_.get(), fmt::format("{} {}\n", stamp, line));
}

void LaunchLog::say(std::string_view line) const {
    write_all(2, fmt::format("cell: {}\n", line));
    note(line);
}

void LaunchLog::say_with_tail(std::string_view line, int log) const {
    say(line);
    std::string out;
    for (const auto& l : tail_lines(log, 5)) {
        out += "  | " + l + "\n";
    }
    write_all(2, out);
}

} // namespace launch
