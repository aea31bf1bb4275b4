// cell: run a command in a cell. See docs/cell.md.
//
// The plan is cellgen's, rendered in this process as the very script
// `cellgen --print script` writes for a standalone wrapper (its launcher is
// launcher.sh, embedded), and bash runs that script in this process (exec),
// so `cell` and a wrapper cannot drift apart. The script reaches bash
// through a memfd, not argv: a plan with thousands of binds cannot hit
// E2BIG. `cell --print FORMAT` is cellgen's output; `cell --help` and
// `cell doctor` are cell.sh (embedded too), run by bash.
//
// A compiled front end, rather than a bash script that forks cellgen: every
// process start costs milliseconds, and a cell's start-up is measured
// against bare bwrap's (docs/benchmarks.md).
#include "cell_text.hpp"
#include "cli.hpp"
#include "helper_bins.hpp"
#include "launcher_text.hpp"

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

bool write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        auto n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        text.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

// The script's fd for bash to read as /dev/fd/N: a memfd (no file, no argv
// limit) at 3 or above, so it never stands in for a stdio fd the caller
// closed, and not close-on-exec, so bash can open it (cell-launch closes
// every fd it inherits but stdio). -1 when that cannot be done.
int script_fd(std::string_view script) {
    int memfd = ::memfd_create("cell-script", MFD_CLOEXEC);
    if (memfd < 0) {
        return -1;
    }
    int fd = -1;
    if (write_all(memfd, script)) {
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
        // cell.sh finds cellgen (doctor checks the helpers) through CELLGEN.
        ::setenv("CELLGEN", (self_dir + "/cellgen").c_str(), 0);
        return exec_bash(cellgen::cell_tools_text(), args);
    }
    cellgen::CliEnvironment cli_env{cellgen::process_env(), self_dir, cellgen::launcher_text(),
                                    CELLGEN_VERSION};
    for (const auto& arg : args) {
        if (arg == "--") {
            break;
        }
        if (arg == "--print" || arg.starts_with("--print=")) {
            return cellgen::emit(cellgen::run_cli(args, cli_env), "cell");
        }
    }
    std::vector<std::string> render{"--print", "script"};
    render.insert(render.end(), args.begin(), args.end());
    auto result = cellgen::run_cli(render, cli_env);
    if (result.status != 0 || !result.out.starts_with("#!")) {
        // An error, or not a script at all (--help or --version among the
        // options): shown, never run.
        return cellgen::emit(result, "cell");
    }
    std::fwrite(result.err.data(), 1, result.err.size(), stderr);
    // The script carries its own command line: no positional parameters.
    return exec_bash(result.out, {});
}
