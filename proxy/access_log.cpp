// See access_log.hpp.
#include "proxy/access_log.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

namespace proxy {

std::string format_record_time(std::chrono::system_clock::time_point t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    auto secs = std::chrono::system_clock::to_time_t(t);
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(secs), ms.count() % 1000);
}

std::string format_access_record(const AccessRecord& r) {
    boost::json::object o;
    o["time"] = format_record_time(r.time);
    o["client"] = r.client;
    o["method"] = r.method;
    o["host"] = r.host;
    o["port"] = r.port;
    o["decision"] = r.allowed ? "allow" : "deny";
    o["reason"] = r.reason;
    o["status"] = r.status;
    o["bytes_up"] = r.bytes_up;
    o["bytes_down"] = r.bytes_down;
    o["duration_ms"] = r.duration_ms;
    if (!r.cache.empty())
        o["cache"] = r.cache;
    return boost::json::serialize(o);
}

AccessLog::AccessLog(int fd, const std::string& name) : path_(name) {
    file_.reset(::fdopen(fd, "a"));
    if (!file_) {
        ::close(fd);
        complain("cannot open", errno);
    }
}

// Straight write(2)s on the stream's O_APPEND descriptor, not stdio: a
// buffered stream that hits ENOSPC drops its buffer and can still report
// success, so the failure would go unnoticed and later lines would be glued
// to a torn one. A line is written whole or not at all: what a failing write
// managed to append is cut off again.
void AccessLog::write(const AccessRecord& r) {
    auto line = format_access_record(r);
    line += '\n';
    std::lock_guard lock(*mutex_);
    if (!file_)
        return;
    int fd = ::fileno(file_.get());
    std::size_t done = 0;
    while (done < line.size()) {
        auto n = ::write(fd, line.data() + done, line.size() - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        int err = n < 0 ? errno : EIO;
        struct stat st {};
        if (done > 0 && ::fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(done)) {
            [[maybe_unused]] int rc = ::ftruncate(fd, st.st_size - static_cast<off_t>(done));
        }
        complain("cannot write", err);
        file_.reset();
        return;
    }
}

void AccessLog::complain(const char* what, int err) {
    if (complained_)
        return;
    complained_ = true;
    fmt::print(stderr, "proxy: --log {}: {} ({}); serving on without an access log\n", path_, what,
               std::strerror(err));
}

} // namespace proxy
