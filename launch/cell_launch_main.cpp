// cell-launch: runs one cell from a launch plan (cellgen --print plan) read
// from an fd; a wrapper that `cellgen --print script` writes execs it with
// the plan on fd 3. See launcher.hpp, prepare.hpp and docs/cell.md.
#include "cellgen/plan.hpp"
#include "launch/launch_options.hpp"
#include "launch/prepare.hpp"
#include "launch/run_plan.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <unistd.h>

namespace {

// The whole plan from `fd`, which is then closed; false with errno.
bool read_all(int fd, std::string& text) {
    char buf[65536];
    while (true) {
        auto n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int saved = errno;
            ::close(fd);
            errno = saved;
            return false;
        }
        if (n == 0) {
            ::close(fd);
            return true;
        }
        text.append(buf, static_cast<size_t>(n));
    }
}

int print_bwrap_options(const cellgen::Plan& plan, const std::string& dir) {
    try {
        for (const auto& option : launch::prepare_dir_only(plan, dir, launch::process_getenv)) {
            std::fwrite(option.c_str(), 1, option.size() + 1, stdout);
        }
    } catch (const launch::PrepareError& e) {
        std::fprintf(stderr, "cell-launch: %s\n", e.what());
        return e.status;
    }
    if (std::fflush(stdout) != 0) {
        std::fprintf(stderr, "cell-launch: writing the options: %s\n", std::strerror(errno));
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    launch::Invocation inv;
    try {
        inv = launch::parse_invocation(argc, argv);
    } catch (const launch::UsageError& e) {
        std::fprintf(stderr,
                     "cell-launch: %s (usage: cell-launch --plan-fd N [--prepare-dir "
                     "DIR] [-- ARG...])\n",
                     e.what());
        return 2;
    }
    std::string text;
    if (!read_all(inv.plan_fd, text)) {
        std::fprintf(stderr, "cell-launch: cannot read the plan on fd %d: %s\n", inv.plan_fd,
                     std::strerror(errno));
        return 2;
    }
    cellgen::Plan plan;
    try {
        plan = cellgen::plan_from_json(text);
    } catch (const cellgen::PlanError& e) {
        std::fprintf(stderr, "cell-launch: the plan on fd %d: %s\n", inv.plan_fd, e.what());
        return 2;
    }
    if (inv.prepare_dir) {
        return print_bwrap_options(plan, *inv.prepare_dir);
    }
    return launch::run_plan(plan, inv.args);
}
