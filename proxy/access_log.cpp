// See access_log.hpp.
#include "access_log.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace proxy {

std::string format_access_record(const AccessRecord& r) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.time.time_since_epoch());
    auto secs = std::chrono::system_clock::to_time_t(r.time);
    boost::json::object o;
    o["time"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(secs), ms.count() % 1000);
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
    return boost::json::serialize(o);
}

AccessLog::AccessLog(const std::string& path) : path_(path) {
    file_.reset(std::fopen(path.c_str(), "a"));
    if (!file_)
        complain("cannot open");
    else
        std::setvbuf(file_.get(), nullptr, _IOLBF, 0);
}

void AccessLog::write(const AccessRecord& r) {
    if (!file_)
        return;
    auto line = format_access_record(r);
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size() ||
        std::fflush(file_.get()) != 0) {
        complain("cannot write");
        file_.reset();
    }
}

void AccessLog::complain(const char* what) {
    if (complained_)
        return;
    complained_ = true;
    fmt::print(stderr, "proxy: --log {}: {} ({}); serving on without an access log\n", path_, what,
               std::strerror(errno));
}

} // namespace proxy
