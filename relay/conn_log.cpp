// ConnLog: JSON lines via Boost.JSON, stderr lines via fmt; see conn_log.hpp.
#include "relay/conn_log.hpp"
#include "net/log_file.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <unistd.h>

namespace relay {
namespace {

// Wall-clock time with milliseconds, UTC, for correlating with other logs.
std::string now_utc() {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:03}Z", text, ms.count() % 1000);
}

boost::json::object event(std::string_view name) {
    boost::json::object o;
    o["time"] = now_utc();
    o["event"] = name;
    return o;
}

} // namespace

boost::system::result<ConnLog, Failure> ConnLog::open(std::string const& path, bool quiet) {
    if (path.empty()) {
        return ConnLog(nullptr, quiet);
    }
    auto fd = open_log_file(path);
    if (!fd) {
        return fd.error();
    }
    std::unique_ptr<std::FILE, FileCloser> file(::fdopen(*fd, "a"));
    if (!file) {
        ::close(*fd);
        return Failure{fmt::format("--log {}: {}", path, std::strerror(errno))};
    }
    return ConnLog(std::move(file), quiet);
}

void ConnLog::opened(std::uint64_t id, std::string_view listen, std::string_view target) {
    if (!file_) {
        return;
    }
    auto o = event("open");
    o["id"] = id;
    o["listen"] = listen;
    o["target"] = target;
    write_line(boost::json::serialize(o));
}

void ConnLog::closed(std::uint64_t id, PumpResult const& r,
                     std::chrono::steady_clock::duration took, std::string_view error) {
    if (!error.empty() && !quiet_) {
        std::fprintf(stderr, "relay: connection %llu: %.*s\n", static_cast<unsigned long long>(id),
                     static_cast<int>(error.size()), error.data());
    }
    if (!file_) {
        return;
    }
    auto o = event("close");
    o["id"] = id;
    o["bytes_to_target"] = r.a_to_b;
    o["bytes_to_client"] = r.b_to_a;
    o["duration_us"] = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    o["idle_timeout"] = r.idle_timeout;
    o["error"] = error;
    write_line(boost::json::serialize(o));
}

void ConnLog::stopped(std::string_view reason) {
    if (!file_) {
        return;
    }
    auto o = event("stop");
    o["reason"] = reason;
    write_line(boost::json::serialize(o));
}

void ConnLog::warn(std::string_view message) {
    if (!quiet_) {
        std::fprintf(stderr, "relay: %.*s\n", static_cast<int>(message.size()), message.data());
    }
    if (!file_) {
        return;
    }
    auto o = event("warning");
    o["message"] = message;
    write_line(boost::json::serialize(o));
}

// One locked write a line: servers on several event loops (--threads) share the log.
void ConnLog::write_line(std::string const& json) {
    ::flockfile(file_.get());
    std::fputs(json.c_str(), file_.get());
    std::fputc('\n', file_.get());
    std::fflush(file_.get());
    ::funlockfile(file_.get());
}

} // namespace relay
