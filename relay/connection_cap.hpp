// ConnectionCap: relay's --max-connections, one count for the whole
// process. With several event loops (--threads) each loop's accept takes a
// slot from the same count, and a loop whose accept waits for a slot is woken
// when a session on any loop ends (a cancel posted to that loop's own timer,
// so every timer is only touched on its own thread).
//
// Lifetime: servers and their sessions hold the cap by shared_ptr; a loop's
// Waiter is held weakly, so a session frame destroyed at io_context teardown
// never wakes a dead timer; close() (on stop) ends the waking altogether,
// before any loop is torn down.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace relay {

class ConnectionCap {
public:
    // A loop's wait for a free slot.
    struct Waiter {
        explicit Waiter(boost::asio::any_io_executor ex) : freed(ex) {}
        boost::asio::steady_timer freed; // cancelled when a slot frees
    };

    explicit ConnectionCap(std::size_t limit) : limit_(limit) {}

    bool limited() const { return limit_ != 0; }

    // A loop that will wait on `waiter` (kept weakly).
    void add_waiter(std::shared_ptr<Waiter> const& waiter);

    // Takes a slot; false at the limit. Always true when unlimited.
    bool try_take();

    // Gives a slot back and wakes every waiting loop.
    void release();

    // From now on release() wakes nobody: the loops are stopping.
    void close() { closed_ = true; }

private:
    std::size_t const limit_;
    std::atomic<std::size_t> active_{0};
    std::atomic<bool> closed_{false};
    std::mutex mutex_; // guards waiters_
    std::vector<std::weak_ptr<Waiter>> waiters_;
};

} // namespace relay
