// AcceptFailures: the failed accepts on one listening socket, counted over
// every event loop that accepts from it (--threads), so that a run of
// failures is reported once: EMFILE can last for hours, and neither each
// retry nor each loop may add a line to the log.
//
// Loops race: loop A's accept(2) can succeed just before loop B's fails,
// yet A's bookkeeping run after B's. Taken at face value that success would
// end the run B just started, and B's next retry would start (and report) a
// second one. So each outcome carries the epoch its accept was issued in
// (ticket()), and only an outcome issued in the current epoch may change
// the state; a stale one is counted, never reported. The epoch advances at
// every change, and its parity is the state: odd while accepts fail.
#pragma once

#include <atomic>
#include <cstdint>

namespace relay {

class AcceptFailures {
public:
    // Taken before each accept is issued.
    std::uint64_t ticket() const { return epoch_.load(std::memory_order_acquire); }

    // A failed accept issued at `ticket`; true when it starts a run (the one
    // to report).
    bool failed(std::uint64_t ticket) {
        count_.fetch_add(1, std::memory_order_relaxed);
        return ticket % 2 == 0 && advance(ticket);
    }

    // A successful accept issued at `ticket`: how many failures the run it
    // ends had (the recovery to report), 0 when it ends none. Issued outside
    // a run (the usual case), it costs nothing more.
    std::uint64_t succeeded(std::uint64_t ticket) {
        if (ticket % 2 == 0 || !advance(ticket)) {
            return 0;
        }
        return count_.exchange(0, std::memory_order_relaxed);
    }

private:
    // Moves from the epoch `from` to the next one; false when another loop
    // moved first or `from` is stale.
    bool advance(std::uint64_t from) {
        return epoch_.compare_exchange_strong(from, from + 1, std::memory_order_acq_rel);
    }

    std::atomic<std::uint64_t> epoch_{0};
    std::atomic<std::uint64_t> count_{0};
};

} // namespace relay
