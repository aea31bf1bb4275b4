// RefusalLog: one JSON line per refusal, written as it happens, before the
// client gets its 403, so a program in a cell that reads the file right after
// a failed request finds the line. A cell's launcher hands the proxy this
// file (refusals.jsonl in the log dir, seen in the cell as $CELL_REFUSALS)
// so that an agent in a long-lived cell can learn what was refused and the
// one flag that would allow it, without waiting for the exit summary.
//   {"time":..., "host":..., "port":..., "status":403, "reason":..., "fix":"--allow HOST"}
#pragma once

#include "proxy/access_log.hpp"

#include <string>

namespace proxy {

// The flag that would allow what `r` records a refusal of ("--allow HOST",
// "--allow-cidr ...", "--connect-port N", ...), or "" when no flag does
// (a malformed request).
std::string fix_for(const AccessRecord& r);

// One line, without the newline.
std::string format_refusal(const AccessRecord& r);

class RefusalLog {
public:
    RefusalLog() = default; // disabled
    explicit RefusalLog(int fd) : fd_(fd) {}
    RefusalLog(RefusalLog&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    RefusalLog& operator=(RefusalLog&& other) noexcept;
    RefusalLog(const RefusalLog&) = delete;
    RefusalLog& operator=(const RefusalLog&) = delete;
    ~RefusalLog();

    // Best effort: a refusal log that cannot be written never stops the proxy.
    void write(const AccessRecord& r) const;

private:
    int fd_ = -1;
};

} // namespace proxy
