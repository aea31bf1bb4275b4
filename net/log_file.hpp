// open_log_file: where relay and proxy append their JSON-lines logs (--log).
// `fd:N` takes an fd the caller opened (the cell launcher opens the proxy's
// access log in the log dir itself and hands it over, so the proxy never
// resolves a path the jail could have changed). A FILE is opened to append,
// made 0644 if missing, never through a symlink, never blocking on a fifo,
// and only when it is a regular file: a log in a directory someone else can
// write must not steer our writes elsewhere or stall us.
#pragma once

#include "net/failure.hpp"

#include <boost/system/result.hpp>

#include <string>

namespace relay {

// An fd (O_CLOEXEC, O_APPEND) owned by the caller, or why not ("--log X: ...").
// `flag` names the option in messages.
boost::system::result<int, Failure> open_log_file(std::string const& spec,
                                                  std::string_view flag = "--log");

} // namespace relay
