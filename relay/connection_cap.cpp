// See connection_cap.hpp.
#include "relay/connection_cap.hpp"

#include <boost/asio/post.hpp>

namespace relay {

void ConnectionCap::add_waiter(std::shared_ptr<Waiter> const& waiter) {
    std::lock_guard lock(mutex_);
    waiters_.push_back(waiter);
}

bool ConnectionCap::try_take() {
    if (!limited()) {
        return true;
    }
    auto n = active_.load(std::memory_order_relaxed);
    while (n < limit_) {
        if (active_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel)) {
            return true;
        }
    }
    return false;
}

void ConnectionCap::release() {
    if (!limited()) {
        return;
    }
    active_.fetch_sub(1, std::memory_order_acq_rel);
    if (closed_) {
        return;
    }
    std::lock_guard lock(mutex_);
    for (auto const& weak : waiters_) {
        if (auto waiter = weak.lock()) {
            boost::asio::post(waiter->freed.get_executor(), [weak] {
                if (auto w = weak.lock()) {
                    w->freed.cancel();
                }
            });
        }
    }
}

} // namespace relay
