// `base`: the locked-down starting point every cell builds on (jail.nix's
// base): every namespace unshared, a fresh session, cleared env, a private
// /tmp and home, and an identity `cell` mapped to the caller.
#include "cellgen/combinators/combinators.hpp"

#include <fmt/format.h>

namespace cellgen {

namespace {

void add_identity(Jail& jail, int uid, int gid) {
    jail.uid = uid;
    jail.gid = gid;
    jail.add_runtime_file(
        "etc/passwd", fmt::format("cell:x:{}:{}:cell:{}:/bin/bash\n"
                                  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                                  uid, gid, kJailHome));
    jail.add_runtime_file("etc/group", fmt::format("cell:x:{}:\nnogroup:x:65534:\n", gid));
    // The jail has only `lo`; name it so tools that resolve localhost work offline.
    jail.add_runtime_file("etc/hosts", "127.0.0.1 localhost\n::1 localhost\n");
    for (const char* file : {"passwd", "group", "hosts"}) {
        jail.mount("--ro-bind",
                   {RuntimePath{fmt::format("etc/{}", file)}, fmt::format("/etc/{}", file)});
    }
}

void apply_base(Jail& jail, const Invocation&, const Context& ctx) {
    using enum Namespace;
    jail.unshared = {user, ipc, pid, net, uts, cgroup};
    jail.new_session = true;
    jail.die_with_parent = true;
    jail.clear_env = true;
    jail.readonly_root = true;
    jail.max_procs = ctx.settings.max_procs; // a fork loop ends in EAGAIN in the cell
    jail.memory_max = ctx.settings.memory_max;
    jail.hostname = "cell";
    jail.mount("--proc", {"/proc"});
    // A cell started by root maps its user to host uid 0, and /proc/sys
    // files (root's, 0644) are checked by plain DAC: core_pattern and
    // modprobe would be writable, i.e. host root code execution. bwrap only
    // covers /proc/sys when the directory itself is writable (it is not).
    // The host's /proc/sys shows the reader's own net and uts values, so a
    // read-only bind of it loses nothing.
    jail.mount("--ro-bind", {"/proc/sys", "/proc/sys"});
    jail.mount("--dev", {"/dev"});
    // --dev bind-mounts the host's own device inodes, and a cell started by
    // root owns them (uid 0 on the host): `chmod 000 /dev/null` would break
    // the host's. bwrap has no read-only bind that keeps devices usable, so
    // a root launcher copies the nodes into the runtime dir and these binds
    // put the copies over bwrap's; for anyone else the sources do not exist
    // and -try skips them.
    jail.add_runtime_dir("dev");
    for (char const* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
        std::string path = fmt::format("/dev/{}", node);
        jail.mount("--dev-bind-try", {RuntimePath{fmt::format("dev/{}", node)}, path});
        jail.private_devices.push_back(std::move(path));
    }
    // Capped, so that filling /tmp or the home ends in ENOSPC in the cell,
    // not in the host's memory (--tmpfs-size).
    jail.tmpfs("/tmp", ctx.settings.tmpfs_size);
    jail.tmpfs(kJailHome, ctx.settings.tmpfs_size);
    add_identity(jail, ctx.settings.uid, ctx.settings.gid);
    jail.set_env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin");
    jail.set_env("HOME", kJailHome);
    jail.set_env("USER", "cell");
    jail.set_env("LOGNAME", "cell");
    jail.set_env("SHELL", "/bin/bash");
    jail.set_env("LANG", "C.UTF-8");
    jail.chdir = kJailHome;
}

} // namespace

std::vector<Combinator> base_combinators() {
    return {{"base", "",
             "The locked-down start (always first; leave it out to replace it): unshare the "
             "user, ipc, pid, net, uts and cgroup namespaces, --new-session, --die-with-parent, "
             "--clearenv, /proc (with /proc/sys read-only), /dev (private copies of its "
             "device nodes when root runs the cell), tmpfs /tmp and /home/cell (each capped by "
             "--tmpfs-size), a "
             "read-only / (so /etc and new top-level dirs cannot be written), hostname `cell`, "
             "a sane PATH; "
             "run as user `cell` (--uid/--gid, default 1000) mapped to the caller, with "
             "generated /etc/passwd, /etc/group and /etc/hosts.",
             0, 0, apply_base}};
}

} // namespace cellgen
