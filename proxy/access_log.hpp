// The access log: one JSON object per line with exactly the keys the cell
// launcher reads to summarise denials: time, client, method, host, port,
// decision ("allow"|"deny"), reason, status, bytes_up, bytes_down,
// duration_ms; and `cache` ("hit", "miss" or "stored") on a registry blob
// request when the image cache is on. A log that cannot be written never stops the proxy; the
// problem is reported once on stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

namespace proxy {

struct AccessRecord {
    std::chrono::system_clock::time_point time;
    std::string client;
    std::string method;
    std::string host;
    std::uint16_t port = 0;
    bool allowed = false;
    std::string reason;
    // The policy's own word on what would allow a refused request, when it
    // has one ("--allow HOST:PORT (this host only) or ..."): the refusal
    // log's `fix`. Not in the access log.
    std::string fix;
    int status = 0;
    std::uint64_t bytes_up = 0;
    std::uint64_t bytes_down = 0;
    std::uint64_t duration_ms = 0;
    std::string cache; // the image cache's word on a blob request, else empty
};

// One line, without the newline. Time is RFC 3339 UTC with milliseconds.
std::string format_access_record(const AccessRecord& r);

// A record's time as the logs write it: RFC 3339 UTC with milliseconds.
std::string format_record_time(std::chrono::system_clock::time_point t);

class AccessLog {
public:
    AccessLog() = default; // disabled
    // Appends to `fd` (owned from here on); `name` is what messages call it.
    AccessLog(int fd, const std::string& name);

    void write(const AccessRecord& r);

private:
    void complain(const char* what, int err);

    std::string path_;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_{nullptr, &std::fclose};
    bool complained_ = false;
    // A line at a time from every event loop (--threads); held by pointer so
    // the log stays movable.
    std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
};

} // namespace proxy
