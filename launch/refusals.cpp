#include "launch/refusals.hpp"
#include "launch/fd.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <sys/stat.h>
#include <utility>
#include <vector>

namespace launch {

namespace {

// host:port of one access-log line when its decision is deny.
std::optional<std::string> denied(std::string_view line) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    const auto& o = v.get_object();
    auto* decision = o.if_contains("decision");
    auto* host = o.if_contains("host");
    auto* port = o.if_contains("port");
    if (!decision || !host || !port || !decision->is_string() || decision->get_string() != "deny" ||
        !host->is_string() || !port->is_number()) {
        return std::nullopt;
    }
    boost::system::error_code port_ec;
    auto n = port->to_number<long>(port_ec);
    if (port_ec) {
        return std::nullopt;
    }
    return fmt::format("{}:{}", std::string_view(host->get_string()), n);
}

} // namespace

off_t log_size(const std::string& access_log) {
    struct stat st;
    return ::lstat(access_log.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
}

std::optional<std::string> refusal_summary(const std::string& access_log, off_t start) {
    Fd fd = open_regular(access_log.c_str(), O_RDONLY);
    if (!fd || ::lseek(fd.get(), start, SEEK_SET) != start) {
        return std::nullopt;
    }
    std::string text;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) {
        text.append(buf, static_cast<size_t>(n));
    }
    std::map<std::string, long> count;
    size_t begin = 0;
    while (begin < text.size()) {
        auto nl = text.find('\n', begin);
        auto end = nl == std::string::npos ? text.size() : nl;
        if (auto key = denied(std::string_view(text).substr(begin, end - begin))) {
            ++count[*key];
        }
        begin = end + 1;
    }
    if (count.empty()) {
        return std::nullopt;
    }
    std::vector<std::pair<std::string, long>> sorted(count.begin(), count.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string list;
    for (const auto& [key, n] : sorted) {
        list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", key, n);
    }
    return "the proxy refused: " + list + " \u2014 allow a host with --allow HOST or a filter line";
}

} // namespace launch
