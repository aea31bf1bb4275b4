#include "launch/prepare.hpp"

#include "cellgen/jail.hpp"
#include "cellgen/validate.hpp"
#include "launch/command_lookup.hpp"
#include "launch/launch_log.hpp"
#include "launch/mask.hpp"
#include "launch/runtime_dir.hpp"
#include "launch/setup_error.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace launch {

namespace {

using cellgen::Plan;

[[noreturn]] void fail_errno(const std::string& what) {
    throw PrepareError(70, fmt::format("{}: {}", what, std::strerror(errno)));
}

std::chrono::seconds ready_timeout(const Getenv& getenv) {
    auto text = getenv("CELL_READY_TIMEOUT");
    if (!text || text->empty()) { // set but empty: the default, as ${VAR:-10}
        return std::chrono::seconds(10);
    }
    bool digits = !text->empty() && text->size() <= 5 &&
                  text->find_first_not_of("0123456789") == std::string::npos;
    long value = digits ? std::strtol(text->c_str(), nullptr, 10) : 0;
    if (value < 1 || value > 86400) {
        throw PrepareError(2, fmt::format("CELL_READY_TIMEOUT={}: not a whole number of seconds "
                                          "from 1 to 86400",
                                          *text));
    }
    return std::chrono::seconds(value);
}

// The canonical form of an existing `path` (every link resolved).
std::string resolved(const std::string& path) {
    std::error_code ec;
    auto real = std::filesystem::canonical(path, ec);
    return ec ? path : real.string();
}

// What the plan needs of the caller, before anything is created. The
// worktree and log dir are checked again as resolved, so that a link to /
// (or $HOME) is refused like / itself.
// mkdir -p for a store the plan keeps (RequiredDir::make): what it makes
// is the caller's alone (0700), since it holds the caller's data.
void make_private_dirs(const std::string& what, const std::string& path) {
    std::string part;
    for (std::size_t at = 0; at != std::string::npos;) {
        at = path.find('/', at + 1);
        part = path.substr(0, at);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
            throw PrepareError(
                2, fmt::format("{}: cannot make '{}': {}", what, part, std::strerror(errno)));
        }
    }
}

void check_caller(const Plan& plan, const Getenv& getenv) {
    auto home = getenv("HOME");
    auto home_path = home && !home->empty() && home->front() == '/' ? resolved(*home) : "";
    for (const auto& d : plan.required_dirs) {
        struct stat st;
        if (d.make && ::stat(d.path.c_str(), &st) != 0 && errno == ENOENT) {
            make_private_dirs(d.what, d.path);
        }
        if (::stat(d.path.c_str(), &st) != 0) {
            throw PrepareError(2, fmt::format("{}: '{}': no such directory", d.what, d.path));
        }
        if (!S_ISDIR(st.st_mode)) {
            throw PrepareError(2,
                               fmt::format("{}: '{}' is a file, not a directory", d.what, d.path));
        }
        auto real = resolved(d.path);
        if (auto why = cellgen::check_cell_dir_scope(real, home_path);
            !why.empty() && !d.system_ok) {
            throw PrepareError(
                2, real == d.path
                       ? fmt::format("{}: '{}' is {}", d.what, d.path, why)
                       : fmt::format("{}: '{}' resolves to '{}', {}", d.what, d.path, real, why));
        }
    }
    for (const auto& f : plan.forwarded_env) {
        if (f.required && !getenv(f.name)) {
            throw PrepareError(
                2, fmt::format("{}: {} is not set in the caller's environment", f.what, f.name));
        }
    }
}

// mkdir with exactly `mode` (mkdir(2) applies the umask); EEXIST passes
// only for a directory when `existing_ok`.
void make_dir(const std::string& path, mode_t mode, bool existing_ok) {
    if (::mkdir(path.c_str(), mode) == 0) {
        if (::chmod(path.c_str(), mode) != 0) {
            fail_errno("cannot set the mode of " + path);
        }
        return;
    }
    struct stat st;
    if (errno == EEXIST && existing_ok && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        return;
    }
    fail_errno("cannot create " + path);
}

// mkdir -p of `rel` under `base` (which exists), each new dir `mode`.
void make_dirs_under(const std::string& base, const std::string& rel, mode_t mode) {
    for (size_t slash = 0; slash != std::string::npos;) {
        slash = rel.find('/', slash + 1);
        make_dir(base + "/" + rel.substr(0, slash), mode, true);
    }
}

void write_file(const std::string& path, const std::string& content) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        fail_errno("cannot create " + path);
    }
    Fd owned(fd);
    if (!write_all(fd, content)) {
        fail_errno("cannot write " + path);
    }
}

std::string runtime_parent(const Getenv& getenv) {
    if (auto xdg = getenv("XDG_RUNTIME_DIR"); xdg && !xdg->empty()) {
        struct stat st;
        if (::stat(xdg->c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
            ::access(xdg->c_str(), W_OK) == 0) {
            return *xdg;
        }
    }
    return "/tmp";
}

// A new runtime dir, mode 0700, named cell-<16 hex digits>: that name says
// its launcher holds an flock on it while the cell lives (stale_dirs.hpp).
// A name somebody else made is never used.
std::string make_runtime_dir(const Getenv& getenv) {
    auto parent = runtime_parent(getenv);
    for (int tries = 0; tries < 5; ++tries) {
        unsigned long long r = 0;
        if (::getrandom(&r, sizeof r, 0) != sizeof r) {
            fail_errno("cannot pick a runtime dir name (getrandom)");
        }
        auto path = fmt::format("{}/cell-{:016x}", parent, r);
        if (::mkdir(path.c_str(), 0700) == 0) {
            if (::chmod(path.c_str(), 0700) != 0) {
                int saved = errno;
                ::rmdir(path.c_str());
                errno = saved;
                fail_errno("cannot set the mode of the runtime dir " + path);
            }
            return path;
        }
        if (errno != EEXIST) {
            fail_errno("cannot create the runtime dir " + path);
        }
    }
    throw PrepareError(70, "cannot create a runtime dir under " + parent + ": names clash");
}

// The plan's dirs and files in `rt`; the log dir, made if missing.
void fill_runtime_dir(const Plan& plan, const std::string& rt) {
    for (const auto& dir : plan.runtime_dirs) {
        make_dirs_under(rt, dir, 0700);
    }
    for (const auto& f : plan.runtime_files) {
        write_file(rt + "/" + f.rel, f.content);
    }
}

// The log dir, opened (log_dir.hpp); a link on a host log dir's path is the
// caller's to fix (exit 2, naming the flag).
LogDir open_log_dir(const Plan& plan, const std::string& rt) {
    auto dir = plan.log_dir_or_runtime();
    auto path = cellgen::arg_text(dir, cellgen::RuntimeDir{rt});
    if (const auto* in_rt = std::get_if<cellgen::RuntimePath>(&dir)) {
        make_dirs_under(rt, in_rt->rel, 0700); // ours: nobody else writes the runtime dir
    }
    try {
        return LogDir(path);
    } catch (const SetupError& e) {
        if (std::holds_alternative<cellgen::RuntimePath>(dir)) {
            throw PrepareError(70, e.what());
        }
        std::string what = "log dir";
        for (const auto& d : plan.required_dirs) {
            what = d.path == path ? d.what : what;
        }
        throw PrepareError(2, fmt::format("{}: {}", what, e.what()));
    }
}

// A log in the log dir, or the cell fails naming it (exit 70).
Fd open_log(const LogDir& dir, const std::string& name, bool fresh = false) {
    try {
        return dir.open_log(name, fresh);
    } catch (const SetupError& e) {
        throw PrepareError(70, e.what());
    }
}

std::vector<std::string> texts(const cellgen::Args& args, const std::string& rt) {
    std::vector<std::string> out;
    out.reserve(args.size());
    for (const auto& a : args) {
        out.push_back(cellgen::arg_text(a, cellgen::RuntimeDir{rt}));
    }
    return out;
}

// The plan binds its log dir by path (`--ro-bind DIR /var/log/cell`, what a
// person running bwrap by hand needs); a cell binds the very directory it
// opened and checked, by fd, so swapping DIR after the check changes nothing.
// A plan without the log-dir combinator binds none.
cellgen::Args bind_log_dir_by_fd(const Plan& plan, bool& bound) {
    bound = false;
    cellgen::Args out = plan.bwrap_args;
    const cellgen::Arg bind{std::string("--ro-bind")};
    const cellgen::Arg dest{std::string(cellgen::kJailLogDir)};
    const auto dir = plan.log_dir_or_runtime();
    for (size_t i = 0; i + 2 < out.size(); ++i) {
        if (out[i] == bind && out[i + 1] == dir && out[i + 2] == dest) {
            out[i] = std::string("--ro-bind-fd");
            out[i + 1] = std::to_string(kBwrapLogDirFd);
            bound = true; // bwrap closes the fd once it has made the mount
            return out;
        }
    }
    return out;
}

// bwrap's options: the plan's, then each forwarded variable the caller has
// (after the plan's --setenv, so a forwarded value wins).
std::vector<std::string> bwrap_options(const Plan& plan, const cellgen::Args& args,
                                       const std::string& rt, const Getenv& getenv) {
    auto out = texts(args, rt);
    for (const auto& f : plan.forwarded_env) {
        if (auto value = getenv(f.name)) {
            out.insert(out.end(), {"--setenv", f.name, *value});
        }
    }
    return out;
}

// --mask: the runtime dir's one empty file, bound read-only over each
// worktree file a glob matches as the cell starts (after the worktree's own
// bind, so it lies on top).
std::vector<std::string> mask_binds(const Plan& plan, const std::string& rt) {
    std::vector<std::string> out;
    if (plan.masks.empty() || !plan.worktree) {
        return out;
    }
    auto files = masked_files(*plan.worktree, plan.masks);
    if (files.empty()) {
        return out;
    }
    auto empty = rt + "/mask-empty";
    write_file(empty, "");
    for (const auto& f : files) {
        out.insert(out.end(),
                   {"--ro-bind", empty, fmt::format("{}/{}", cellgen::kJailWorktree, f)});
    }
    return out;
}

// The daemons that will start: an `auto` one whose host socket is missing is
// left out with one line; an `on` one fails the cell.
std::vector<DaemonCommand> select_daemons(const Plan& plan, const std::string& rt,
                                          const LogDir& log_dir, const LaunchLog& log) {
    std::vector<DaemonCommand> out;
    for (const auto& d : plan.daemons) {
        if (d.needs) {
            struct stat st;
            if (::stat(d.needs->c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
                if (d.mode == "auto") {
                    log.say(fmt::format("{}: {} is not a socket; running without it (use --nix "
                                        "off to silence, --nix on to require it)",
                                        d.name, *d.needs));
                    continue;
                }
                auto text = fmt::format("{}: required socket {} is missing (is the daemon "
                                        "running?)",
                                        d.name, *d.needs);
                log.note(text);
                throw PrepareError(70, text);
            }
        }
        out.push_back({d.name, texts(d.argv, rt), d.jail_listen, open_log(log_dir, d.name + ".log"),
                       d.access_log.has_value(),
                       d.refusal_log ? open_log(log_dir, *d.refusal_log, true) : Fd{}});
    }
    return out;
}

// The launcher enters the jail's user and network namespaces to make a
// jail listener (jail_listener.hpp). A setuid-root bwrap makes them root's:
// an ordinary user cannot enter them, so say so before anything starts.
void check_bwrap_for_listeners(const Plan& plan) {
    bool listens = false;
    for (const auto& d : plan.daemons) {
        listens = listens || !d.jail_listen.empty();
    }
    struct stat st;
    if (!listens || ::geteuid() == 0 || ::stat(plan.bwrap.c_str(), &st) != 0 ||
        !(st.st_mode & S_ISUID) || st.st_uid != 0) {
        return;
    }
    throw PrepareError(70, fmt::format("{} is setuid root: the launcher cannot enter the "
                                       "namespaces it makes to give the proxy its port in the "
                                       "jail; use a bwrap that is not setuid (with unprivileged "
                                       "user namespaces), or run as root",
                                       plan.bwrap));
}

// Removes the runtime dir unless released: every failure leaves nothing.
class DirGuard {
public:
    explicit DirGuard(std::string path) : path_(std::move(path)) {}
    ~DirGuard() {
        if (!path_.empty()) {
            remove_tree(path_);
        }
    }
    DirGuard(const DirGuard&) = delete;
    DirGuard& operator=(const DirGuard&) = delete;
    void release() { path_.clear(); }

private:
    std::string path_;
};

} // namespace

std::optional<std::string> process_getenv(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
}

Options prepare(const Plan& plan, const std::vector<std::string>& args, const Getenv& getenv) {
    if (plan.command.empty() && args.empty()) {
        throw PrepareError(2, "no command to run (give it after --, or as the wrapper's "
                              "arguments)");
    }
    Options o;
    o.ready_timeout = ready_timeout(getenv);
    check_caller(plan, getenv);
    check_bwrap_for_listeners(plan);
    o.runtime_dir = make_runtime_dir(getenv);
    DirGuard guard(o.runtime_dir);
    fill_runtime_dir(plan, o.runtime_dir);
    o.log_dir = open_log_dir(plan, o.runtime_dir);
    o.log = LaunchLog(open_log(o.log_dir, "launcher.log"));
    o.daemons = select_daemons(plan, o.runtime_dir, o.log_dir, o.log);
    for (const auto& d : plan.daemons) {
        if (d.access_log && !o.access_log) {
            o.access_log = open_log(o.log_dir, *d.access_log);
            struct stat st;
            o.access_log_start = ::fstat(o.access_log.get(), &st) == 0 ? st.st_size : 0;
        }
    }
    o.bwrap = plan.bwrap;
    o.bwrap_args =
        bwrap_options(plan, bind_log_dir_by_fd(plan, o.log_dir_by_fd), o.runtime_dir, getenv);
    auto masks = mask_binds(plan, o.runtime_dir);
    if (!masks.empty()) {
        o.log.note(fmt::format("--mask: {} worktree files read as empty", masks.size() / 3));
    }
    o.bwrap_args.insert(o.bwrap_args.end(), masks.begin(), masks.end());
    o.private_devices = plan.private_devices;
    o.max_procs = plan.max_procs;
    o.memory_max = plan.memory_max;
    o.notices = plan.notices;
    o.command = plan.command;
    o.command.insert(o.command.end(), args.begin(), args.end());
    if (lookup_in_jail(o.bwrap_args, o.command.front(), getenv("PATH")) == Lookup::missing) {
        throw PrepareError(127, fmt::format("{}: not found inside the cell", o.command.front()));
    }
    o.command.insert(o.command.begin(), plan.jail_init.begin(), plan.jail_init.end());
    guard.release();
    return o;
}

std::vector<std::string> prepare_dir_only(const Plan& plan, const std::string& dir,
                                          const Getenv& getenv) {
    check_caller(plan, getenv);
    if (dir.empty() || dir.front() != '/') {
        throw PrepareError(2, fmt::format("--prepare-dir: '{}' is not an absolute path", dir));
    }
    make_dirs_under("", dir.substr(1), 0700);
    fill_runtime_dir(plan, dir);
    auto log_dir = open_log_dir(plan, dir);
    // As the launcher does (as root): bwrap run by hand on this dir gets the
    // same private /dev nodes, not the host's.
    copy_private_devices(plan.private_devices, dir + "/dev",
                         LaunchLog(open_log(log_dir, "launcher.log")));
    // By path: the person running bwrap holds no fd of ours.
    auto out = bwrap_options(plan, plan.bwrap_args, dir, getenv);
    auto masks = mask_binds(plan, dir);
    out.insert(out.end(), masks.begin(), masks.end());
    return out;
}

} // namespace launch
