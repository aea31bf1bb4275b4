// cell: run a command in a cell. See docs/cell.md.
//
// Planner and launcher in one process: cellgen's planner makes the launch
// plan from the options, and run_plan (launch/run_plan.hpp) runs it, the
// same function cell-launch runs for a wrapper from `cellgen --print script`,
// so `cell` and a wrapper cannot drift apart. No shell and no exec stand
// between the command line and bwrap: a cell's start-up is measured against
// bare bwrap's (docs/benchmarks.md), and each process start costs
// milliseconds. `cell --print FORMAT` is cellgen's output; `cell --help` and
// `cell doctor` are doctor.sh (embedded), run by bash.
#include "cellgen/cli.hpp"
#include "cellgen/helper_bins.hpp"
#include "launch/cell_text.hpp"
#include "launch/fd.hpp"
#include "launch/run_plan.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#ifndef CELLGEN_VERSION
#define CELLGEN_VERSION "unknown"
#endif
#ifndef CELL_BASH
#define CELL_BASH "/bin/bash"
#endif

namespace {

// The script's fd for bash to read as /dev/fd/N: a memfd (no file, no argv
// limit) at 3 or above, so it never stands in for a stdio fd the caller
// closed. -1 when that cannot be done.
int script_fd(std::string_view script) {
    int memfd = ::memfd_create("cell-script", MFD_CLOEXEC);
    if (memfd < 0) {
        return -1;
    }
    int fd = -1;
    if (launch::write_all(memfd, script)) {
        fd = ::fcntl(memfd, F_DUPFD, 3);
    }
    ::close(memfd);
    if (fd >= 0 && ::access(fmt::format("/dev/fd/{}", fd).c_str(), R_OK) != 0) {
        ::close(fd); // no /dev/fd (no /proc)
        fd = -1;
    }
    return fd;
}

// Runs `script` with bash in this process, `args` as its positional
// parameters. Returns only on failure (exit status 70).
int exec_bash(std::string_view script, const std::vector<std::string>& args) {
    const char* bash = ::access(CELL_BASH, X_OK) == 0 ? CELL_BASH : "bash";
    std::vector<std::string> argv{"bash"};
    if (int fd = script_fd(script); fd >= 0) {
        argv.push_back(fmt::format("/dev/fd/{}", fd));
    } else {
        // No memfd (an old kernel, a seccomp profile) or no /dev/fd: through
        // argv, which holds a script of up to 128 KiB.
        argv.insert(argv.end(), {"-c", std::string(script), "cell"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) {
        cargv.push_back(a.data());
    }
    cargv.push_back(nullptr);
    ::execvp(bash, cargv.data());
    std::fprintf(stderr, "cell: cannot run %s: %s\n", bash, std::strerror(errno));
    return 70;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    auto self_dir = cellgen::self_exe_dir();
    if (args.empty() || args[0] == "doctor" || args[0] == "-h" || args[0] == "--help") {
        // doctor.sh finds cellgen (doctor checks the helpers) through CELLGEN:
        // next to cell when installed, build/cellgen/ in the build tree.
        auto cellgen_bin =
            cellgen::find_sibling("cellgen", self_dir).value_or(self_dir + "/cellgen");
        ::setenv("CELLGEN", cellgen_bin.c_str(), 0);
        return exec_bash(cellgen::cell_tools_text(), args);
    }
    cellgen::CliEnvironment cli_env{cellgen::process_env(), self_dir, CELLGEN_VERSION};
    for (const auto& arg : args) {
        if (arg == "--") {
            break;
        }
        if (arg == "--print" || arg.starts_with("--print=")) {
            return cellgen::emit(cellgen::run_cli(args, cli_env), "cell");
        }
    }
    auto planned = cellgen::plan_cli(args, cli_env);
    if (auto* printed = std::get_if<cellgen::CliResult>(&planned)) {
        // An error, or --help or --version among the options.
        return cellgen::emit(*printed, "cell");
    }
    // run_plan closes every inherited fd but stdio: only now, as a profile
    // may be /dev/fd/N.
    return launch::run_plan(std::get<cellgen::Plan>(planned), {});
}
