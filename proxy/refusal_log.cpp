// See refusal_log.hpp.
#include "proxy/refusal_log.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <unistd.h>

namespace proxy {

std::string fix_for(const AccessRecord& r) {
    std::string_view reason = r.reason;
    if (r.host.empty() || r.port == 0 || r.status == 400 || r.status == 408 || r.status == 431)
        return {};
    if (!r.fix.empty())
        return r.fix;
    if (reason.starts_with("address: "))
        return "--allow-cidr with a range that holds this address";
    if (reason.starts_with("port "))
        return fmt::format("--connect-port {}", r.port);
    if (reason.starts_with("deny "))
        return fmt::format("drop --deny {}", reason.substr(5));
    if (reason.starts_with("sni_mismatch") || reason.starts_with("tls_malformed"))
        return {};
    return fmt::format("--allow {}", r.host);
}

std::string format_refusal(const AccessRecord& r) {
    boost::json::object o;
    o["time"] = format_record_time(r.time);
    o["method"] = r.method;
    o["host"] = r.host;
    o["port"] = r.port;
    o["status"] = r.status;
    o["reason"] = r.reason;
    o["fix"] = fix_for(r);
    return boost::json::serialize(o);
}

RefusalLog& RefusalLog::operator=(RefusalLog&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

RefusalLog::~RefusalLog() {
    if (fd_ >= 0)
        ::close(fd_);
}

void RefusalLog::write(const AccessRecord& r) const {
    if (fd_ < 0)
        return;
    auto line = format_refusal(r) + "\n";
    // One write: an O_APPEND line under PIPE_BUF-ish sizes lands whole.
    [[maybe_unused]] auto n = ::write(fd_, line.data(), line.size());
}

} // namespace proxy
