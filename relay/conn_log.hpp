// ConnLog: what relay says about connections. With --log FILE, one JSON
// object per line for every open, close and stop (bytes each way, duration,
// error), flushed per line so a test or `tail -f` sees it at once. Errors
// (a failed connect, accept trouble) also go to stderr unless --quiet.
#pragma once

#include "net/failure.hpp"
#include "net/pump.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace relay {

class ConnLog {
public:
    // Opens FILE for appending; an empty path means no JSON log.
    static boost::system::result<ConnLog, Failure> open(std::string const& path, bool quiet);

    void opened(std::uint64_t id, std::string_view listen, std::string_view target);
    // `error` is empty for a clean close; otherwise says what failed and where.
    void closed(std::uint64_t id, PumpResult const& r, std::chrono::steady_clock::duration took,
                std::string_view error);
    void stopped(std::string_view reason);
    // A problem not tied to one connection (accept errors).
    void warn(std::string_view message);

private:
    struct FileCloser {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    ConnLog(std::unique_ptr<std::FILE, FileCloser> file, bool quiet)
        : file_(std::move(file)), quiet_(quiet) {}
    void write_line(std::string const& json);

    std::unique_ptr<std::FILE, FileCloser> file_;
    bool quiet_;
};

} // namespace relay
