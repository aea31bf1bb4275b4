// See event_loops.hpp.
#include "net/event_loops.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace relay {

unsigned auto_event_loops() {
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpus = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    return static_cast<unsigned>(std::clamp(cpus, 1, static_cast<int>(max_auto_event_loops)));
}

boost::system::result<unsigned, Failure> parse_event_loops(std::string_view text,
                                                           std::string_view flag) {
    if (text == "auto") {
        return auto_event_loops();
    }
    unsigned n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n < 1 || n > max_event_loops) {
        return Failure{fmt::format("{} {}: must be auto or a number from 1 to {}", flag, text,
                                   max_event_loops)};
    }
    return n;
}

boost::system::result<Listener, Failure> duplicate_listener(Listener& listener,
                                                            boost::asio::any_io_executor ex) {
    Endpoint copy;
    copy.kind = Endpoint::Kind::inherited;
    copy.fd = ::fcntl(listener.acceptor().native_handle(), F_DUPFD_CLOEXEC, 3);
    copy.text = listener.endpoint().text;
    if (copy.fd < 0) {
        return Failure{
            fmt::format("{}: cannot copy the listening socket for another event loop: {}",
                        listener.endpoint().text, std::strerror(errno))};
    }
    auto dup = Listener::open(ex, copy);
    if (!dup) {
        ::close(copy.fd);
    }
    return dup;
}

} // namespace relay
