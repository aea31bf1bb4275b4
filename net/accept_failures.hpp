// AcceptFailures: the failed accepts on one listening socket, counted over
// every event loop that accepts from it (--threads), so that a run of
// failures is reported once: EMFILE can last for hours, and neither each
// retry nor each loop may add a line to the log.
#pragma once

#include <atomic>
#include <cstdint>

namespace relay {

class AcceptFailures {
public:
    // A failed accept; true when it starts a run (the one to report).
    bool failed() { return count_.fetch_add(1, std::memory_order_relaxed) == 0; }

    // A successful accept: how many failures the run it ends had (the
    // recovery to report), 0 when there was no run. Costs a load otherwise.
    std::uint64_t succeeded() {
        if (count_.load(std::memory_order_relaxed) == 0) {
            return 0;
        }
        return count_.exchange(0, std::memory_order_relaxed);
    }

private:
    std::atomic<std::uint64_t> count_{0};
};

} // namespace relay
