// Session: a --forward listener. No request to read: every client reaches
// the one destination the listener was given, after the address policy
// (the name resolved once, each address checked, the connection made to a
// checked one: upstream.cpp), then the byte pump. Logged with method
// FORWARD; a refused address goes to the refusal log like any refusal, and
// the client sees its connection closed.
#include "proxy/session.hpp"

namespace proxy {

boost::asio::awaitable<void> Session::port_forward() {
    policy_ = ctx_->policy.load(); // one snapshot per connection; SIGHUP swaps the pointer
    const Target& to = *service_.to;
    begin_record("FORWARD", to.host.name, to.port);
    record_->allowed = true;
    record_->reason = "forward";
    if (auto no = co_await open_upstream(to)) {
        record_->allowed = !no->denied;
        record_->reason = no->reason;
        record_->status = no->error.status;
        if (no->denied)
            ctx_->refusals.write(*record_);
        co_return;
    }
    record_->status = 200;
    co_await pump_tunnel();
}

} // namespace proxy
