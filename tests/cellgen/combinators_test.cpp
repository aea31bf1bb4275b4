// Exact bwrap arguments of every combinator, alone or on top of base.
#include "tests/cellgen/plan_fixture.hpp"

#include "cellgen/usage_error.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using cellgen_test::Fixture;
using cellgen_test::inv;
using Strings = std::vector<std::string>;

namespace {

const Strings kBaseArgs{"--unshare-user",
                        "--unshare-ipc",
                        "--unshare-pid",
                        "--unshare-net",
                        "--unshare-uts",
                        "--unshare-cgroup",
                        "--uid",
                        "1000",
                        "--gid",
                        "1000",
                        "--hostname",
                        "cell",
                        "--new-session",
                        "--die-with-parent",
                        "--clearenv",
                        "--proc",
                        "/proc",
                        "--ro-bind",
                        "/proc/sys",
                        "/proc/sys",
                        "--dev",
                        "/dev",
                        "--dev-bind-try",
                        "/rt/dev/null",
                        "/dev/null",
                        "--dev-bind-try",
                        "/rt/dev/zero",
                        "/dev/zero",
                        "--dev-bind-try",
                        "/rt/dev/full",
                        "/dev/full",
                        "--dev-bind-try",
                        "/rt/dev/random",
                        "/dev/random",
                        "--dev-bind-try",
                        "/rt/dev/urandom",
                        "/dev/urandom",
                        "--dev-bind-try",
                        "/rt/dev/tty",
                        "/dev/tty",
                        "--size",
                        "2147483648",
                        "--tmpfs",
                        "/tmp",
                        "--size",
                        "2147483648",
                        "--tmpfs",
                        "/home/cell",
                        "--ro-bind",
                        "/rt/etc/passwd",
                        "/etc/passwd",
                        "--ro-bind",
                        "/rt/etc/group",
                        "/etc/group",
                        "--ro-bind",
                        "/rt/etc/hosts",
                        "/etc/hosts",
                        "--setenv",
                        "PATH",
                        "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
                        "--setenv",
                        "HOME",
                        "/home/cell",
                        "--setenv",
                        "USER",
                        "cell",
                        "--setenv",
                        "LOGNAME",
                        "cell",
                        "--setenv",
                        "SHELL",
                        "/bin/bash",
                        "--setenv",
                        "LANG",
                        "C.UTF-8",
                        "--chdir",
                        "/home/cell",
                        "--remount-ro",
                        "/"};

bool contains(const Strings& args, const std::string& word) {
    return std::find(args.begin(), args.end(), word) != args.end();
}

} // namespace

TEST_CASE("base: exact argv, identity files and uid/gid") {
    Fixture f;
    CHECK(f.args({inv("base")}) == kBaseArgs);
    f.settings.uid = 4242;
    f.settings.gid = 77;
    auto plan = f.plan({inv("base")});
    auto args = cellgen_test::texts(plan.bwrap_args);
    CHECK(args[7] == "4242");
    CHECK(args[9] == "77");
    REQUIRE(plan.runtime_files.size() == 3);
    CHECK(plan.runtime_files[0].rel == "etc/passwd");
    CHECK(plan.runtime_files[0].content.starts_with("cell:x:4242:77:cell:/home/cell:/bin/bash\n"));
    CHECK(plan.runtime_files[1].content.starts_with("cell:x:77:\n"));
    CHECK(plan.runtime_files[2].content.starts_with("127.0.0.1 localhost\n"));
    CHECK(plan.runtime_dirs == Strings{"dev", "etc"});
    CHECK(plan.private_devices == Strings{"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                          "/dev/urandom", "/dev/tty"});
}

TEST_CASE("base: only first") {
    Fixture f;
    CHECK_THROWS_WITH(f.plan({inv("tmpfs", {"/x"}), inv("base")}),
                      Catch::Contains("base must be the first"));
}

TEST_CASE("host-system: /usr, top dirs as on the host, /etc files tolerant") {
    Strings expected{"--ro-bind", "/usr", "/usr"};
    for (const char* dir : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
        std::error_code ec;
        auto st = std::filesystem::symlink_status(dir, ec);
        if (ec || !std::filesystem::exists(st)) {
            continue;
        }
        if (std::filesystem::is_symlink(st)) {
            expected.insert(expected.end(),
                            {"--symlink", std::filesystem::read_symlink(dir).string(), dir});
        } else {
            expected.insert(expected.end(), {"--ro-bind", dir, dir});
        }
    }
    for (const char* file :
         {"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/ssl/certs",
          "/etc/ssl/openssl.cnf", "/etc/ca-certificates", "/etc/pki/ca-trust", "/etc/pki/tls/certs",
          "/etc/pki/tls/cert.pem", "/etc/pki/tls/openssl.cnf", "/etc/nsswitch.conf",
          "/etc/localtime", "/etc/alternatives", "/etc/protocols", "/etc/services"}) {
        expected.insert(expected.end(), {"--ro-bind-try", file, file});
    }
    CHECK(Fixture().args({inv("host-system")}) == expected);
}

TEST_CASE("binds: each flag, default DEST, relative SRC made absolute") {
    Fixture f;
    CHECK(f.args({inv("ro-bind", {"/a", "/b"})}) == Strings{"--ro-bind", "/a", "/b"});
    CHECK(f.args({inv("bind", {"/a", "/b"})}) == Strings{"--bind", "/a", "/b"});
    CHECK(f.args({inv("dev-bind", {"/dev/kvm"})}) == Strings{"--dev-bind", "/dev/kvm", "/dev/kvm"});
    CHECK(f.args({inv("try-ro-bind", {"/a", "/b"})}) == Strings{"--ro-bind-try", "/a", "/b"});
    CHECK(f.args({inv("try-bind", {"/a"})}) == Strings{"--bind-try", "/a", "/a"});
    CHECK(f.args({inv("try-dev-bind", {"/a", "/b"})}) == Strings{"--dev-bind-try", "/a", "/b"});
    auto cwd = std::filesystem::current_path().string();
    CHECK(f.args({inv("ro-bind", {"data/x", "/x"})}) ==
          Strings{"--ro-bind", cwd + "/data/x", "/x"});
    CHECK(f.args({inv("ro-bind", {"/a", "/b"}), inv("bind", {"/c", "/b/c"})}) ==
          Strings{"--ro-bind", "/a", "/b", "--bind", "/c", "/b/c"});
}

TEST_CASE("binds: relative or .. jail paths are errors") {
    Fixture f;
    CHECK_THROWS_WITH(f.plan({inv("ro-bind", {"/a", "rel"})}),
                      "--ro-bind: 'rel': jail path must be absolute");
    CHECK_THROWS_WITH(f.plan({inv("tmpfs", {"/a/../etc"})}),
                      Catch::Contains("must not contain '..'"));
    CHECK_THROWS_WITH(f.plan({inv("ro-bind", {"/a", "/b", "/c"})}),
                      Catch::Contains("expects SRC [DEST] (got 3 arguments)"));
}

TEST_CASE("tmpfs, symlink, dir, chdir") {
    Fixture f;
    // Every tmpfs is capped (--tmpfs-size, 2 GiB by default; 0: no --size).
    CHECK(f.args({inv("tmpfs", {"/var/cache"})}) ==
          Strings{"--size", "2147483648", "--tmpfs", "/var/cache"});
    f.settings.tmpfs_size = 8 << 20;
    CHECK(f.args({inv("tmpfs", {"/x"})}) == Strings{"--size", "8388608", "--tmpfs", "/x"});
    f.settings.tmpfs_size = 0;
    CHECK(f.args({inv("tmpfs", {"/x"})}) == Strings{"--tmpfs", "/x"});
    CHECK(f.args({inv("symlink", {"usr/bin", "/bin"})}) == Strings{"--symlink", "usr/bin", "/bin"});
    CHECK(f.args({inv("dir", {"/work"})}) == Strings{"--dir", "/work"});
    CHECK(f.args({inv("chdir", {"/work"}), inv("chdir", {"/srv"})}) == Strings{"--chdir", "/srv"});
    CHECK_THROWS_WITH(f.plan({inv("chdir", {"work"})}), Catch::Contains("must be absolute"));
}

TEST_CASE("env: set-env, fwd-env, try-fwd-env, add-path") {
    Fixture f;
    CHECK(f.args({inv("set-env", {"FOO", "a b"})}) == Strings{"--setenv", "FOO", "a b"});
    CHECK(f.args({inv("set-env", {"FOO", "1"}), inv("set-env", {"FOO", "2"})}) ==
          Strings{"--setenv", "FOO", "2"});
    CHECK(f.args({inv("set-env", {"OPTS=-Xmx1g=2"})}) == Strings{"--setenv", "OPTS", "-Xmx1g=2"});
    CHECK(f.args({inv("set-env", {"EMPTY"})}) == Strings{"--setenv", "EMPTY", ""});
    CHECK(f.args({inv("fwd-env", {"TERM"})}) == Strings{"--setenv", "TERM", "xterm"});
    CHECK(f.args({inv("try-fwd-env", {"NOPE_UNSET"})}).empty());
    CHECK(f.args({inv("try-fwd-env", {"TERM"})}) == Strings{"--setenv", "TERM", "xterm"});
    CHECK(f.args({inv("add-path", {"/opt/bin"})}) == Strings{"--setenv", "PATH", "/opt/bin"});
    auto with_base = f.args({inv("base"), inv("add-path", {"/opt/bin"})});
    CHECK(contains(with_base,
                   "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:/opt/bin"));
}

TEST_CASE("env: invalid names and unset fwd-env are errors") {
    Fixture f;
    CHECK_THROWS_WITH(f.plan({inv("set-env", {"1FOO", "x"})}),
                      "--set-env: '1FOO' is not a valid environment variable name");
    CHECK_THROWS_WITH(f.plan({inv("set-env", {"A-B", "x"})}), Catch::Contains("not a valid"));
    CHECK_THROWS_WITH(f.plan({inv("fwd-env", {"NOPE_UNSET"})}),
                      Catch::Contains("NOPE_UNSET is not set"));
    CHECK_THROWS_WITH(f.plan({inv("add-path", {"/a:/b"})}), Catch::Contains("':'"));
}

TEST_CASE("namespaces and process flags") {
    Fixture f;
    auto net = f.args({inv("base"), inv("share-ns", {"net"})});
    CHECK_FALSE(contains(net, "--unshare-net"));
    CHECK(contains(net, "--unshare-pid"));
    auto user = f.args({inv("base"), inv("share-ns", {"user"})});
    CHECK_FALSE(contains(user, "--unshare-user"));
    CHECK_FALSE(contains(user, "--uid"));
    auto uts = f.args({inv("base"), inv("share-ns", {"uts"})});
    CHECK_FALSE(contains(uts, "--hostname"));
    for (const char* ns : {"pid", "ipc", "cgroup"}) {
        CHECK_FALSE(
            contains(f.args({inv("base"), inv("share-ns", {ns})}), std::string("--unshare-") + ns));
    }
    CHECK_THROWS_WITH(f.plan({inv("share-ns", {"mnt"})}),
                      Catch::Contains("unknown namespace 'mnt'"));
    CHECK_FALSE(contains(f.args({inv("base"), inv("no-new-session")}), "--new-session"));
    CHECK_FALSE(contains(f.args({inv("base"), inv("no-die-with-parent")}), "--die-with-parent"));
    auto host = f.args({inv("base"), inv("set-hostname", {"box"})});
    CHECK(Strings(host.begin() + 10, host.begin() + 12) == Strings{"--hostname", "box"});
    CHECK_THROWS(f.plan({inv("set-hostname", {"a b"})}));
    CHECK(f.args({inv("time-zone", {"Europe/Paris"})}) ==
          Strings{"--setenv", "TZ", "Europe/Paris"});
    CHECK_THROWS_WITH(f.plan({inv("time-zone", {"../etc/passwd"})}),
                      Catch::Contains("not a time zone"));
}

TEST_CASE("nix-store and nix-daemon") {
    Fixture f;
    CHECK(f.args({inv("nix-store")}) == Strings{"--ro-bind", "/nix/store", "/nix/store"});
    CHECK(f.args({inv("try-nix-store")}) == Strings{"--ro-bind-try", "/nix/store", "/nix/store"});
    auto plan = f.plan({inv("nix-daemon", {"/var/nixd"})});
    CHECK(cellgen_test::texts(plan.bwrap_args) ==
          Strings{"--ro-bind", "/rt/nix", "/nix/var/nix/daemon-socket", "--setenv", "NIX_REMOTE",
                  "daemon", "--setenv", "NIX_CONFIG",
                  "experimental-features = nix-command flakes\nsubstitute = true"});
    REQUIRE(plan.daemons.size() == 1);
    CHECK(plan.daemons[0].name == "nix");
    CHECK(cellgen_test::texts(plan.daemons[0].argv) ==
          Strings{"/opt/cell/relay", "--drop-root", "--threads", "1", "unix:/rt/nix/socket",
                  "unix:/var/nixd/socket"});
    CHECK(plan.daemons[0].mode == "auto");
    CHECK(plan.daemons[0].needs == "/var/nixd/socket");
    CHECK(plan.runtime_dirs == Strings{"nix"});
    f.settings.nix_mode = "on";
    CHECK(f.plan({inv("nix-daemon")}).daemons.at(0).needs == "/nix/var/nix/daemon-socket/socket");
    CHECK(f.plan({inv("nix-daemon")}).daemons.at(0).mode == "on");
    f.settings.nix_mode = "off";
    auto off = f.plan({inv("nix-daemon")});
    CHECK(off.daemons.empty());
    CHECK(off.bwrap_args.empty());
}

TEST_CASE("proxy: env and the host daemon, nothing in the jail") {
    Fixture f;
    f.settings.proxy.port = 8080;
    f.settings.proxy.allow = {"example.com", "*.example.org"};
    f.settings.proxy.deny = {"bad.example.com"};
    f.settings.proxy.filter = "/etc/cell/filter";
    f.settings.proxy.filter_type = "ere";
    f.settings.proxy.allow_cidr = {"10.0.0.0/8"};
    f.settings.proxy.connect_ports = {443, 8443};
    auto plan = f.plan({inv("base"), inv("proxy"), inv("log-dir")}, {"curl", "x"});
    auto args = cellgen_test::texts(plan.bwrap_args);
    // Nothing is bound into the jail for the proxy: its port is a socket the
    // launcher makes in the jail's network namespace.
    auto no_env = [](const Strings& all) {
        Strings out;
        for (size_t i = 0; i < all.size(); ++i) {
            if (all[i] == "--setenv") {
                i += 2;
            } else {
                out.push_back(all[i]);
            }
        }
        return out;
    };
    CHECK(no_env(args) ==
          no_env(cellgen_test::texts(f.plan({inv("base"), inv("log-dir")}).bwrap_args)));
    CHECK(std::find(plan.runtime_dirs.begin(), plan.runtime_dirs.end(), "proxy") ==
          plan.runtime_dirs.end());
    for (const char* var :
         {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "npm_config_proxy",
          "npm_config_https_proxy", "CARGO_HTTP_PROXY", "PIP_PROXY"}) {
        auto it = std::find(args.begin(), args.end(), var);
        REQUIRE(it != args.end());
        CHECK(*(it + 1) == "http://127.0.0.1:8080");
    }
    // Any other scheme (ssh through a ProxyCommand, git://): SOCKS5, names
    // resolved by the proxy.
    for (const char* var : {"ALL_PROXY", "all_proxy"}) {
        auto it = std::find(args.begin(), args.end(), var);
        REQUIRE(it != args.end());
        CHECK(*(it + 1) == "socks5h://127.0.0.1:1080");
    }
    CHECK(*(std::find(args.begin(), args.end(), "NO_PROXY") + 1) == "localhost,127.0.0.1,::1");
    CHECK(*(std::find(args.begin(), args.end(), "JAVA_TOOL_OPTIONS") + 1) ==
          "-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=8080 -Dhttps.proxyHost=127.0.0.1 "
          "-Dhttps.proxyPort=8080");
    REQUIRE(plan.daemons.size() == 1);
    CHECK(cellgen_test::texts(plan.daemons[0].argv) == Strings{"/opt/cell/proxy",
                                                               "--listen",
                                                               "fd:5",
                                                               "--socks-listen",
                                                               "fd:8",
                                                               "--default-deny",
                                                               "--filter",
                                                               "/etc/cell/filter",
                                                               "--filter-type",
                                                               "ere",
                                                               "--allow",
                                                               "example.com",
                                                               "--allow",
                                                               "*.example.org",
                                                               "--deny",
                                                               "bad.example.com",
                                                               "--allow-cidr",
                                                               "10.0.0.0/8",
                                                               "--connect-port",
                                                               "80",
                                                               "--connect-port",
                                                               "443",
                                                               "--connect-port",
                                                               "8443",
                                                               "--log",
                                                               "fd:6",
                                                               "--refusal-log",
                                                               "fd:7"});
    CHECK(plan.daemons[0].jail_listen ==
          std::vector<cellgen::JailListen>{{"127.0.0.1", 8080}, {"127.0.0.1", 1080}});
    // The command runs as it is: no helper before it in the jail.
    CHECK(plan.command == Strings{"curl", "x"});
    f.settings.proxy_bin.reset();
    CHECK_THROWS_WITH(f.plan({inv("proxy")}), Catch::Contains("--proxy-bin"));
}

TEST_CASE("proxy needs the jail's own network namespace") {
    Fixture f;
    // share-ns after proxy counts too: the check runs once all are applied.
    CHECK_THROWS_WITH(f.plan({inv("base"), inv("proxy"), inv("share-ns", {"net"})}),
                      Catch::Contains("proxy: needs the jail's own network namespace"));
    CHECK_NOTHROW(f.plan({inv("base"), inv("proxy"), inv("share-ns", {"ipc"})}));
}

TEST_CASE("worktree and log-dir") {
    Fixture f;
    cellgen_test::TempDir dir;
    CHECK(f.args({inv("worktree", {dir.path})}) ==
          Strings{"--bind", dir.path, "/home/cell/worktree", "--chdir", "/home/cell/worktree"});
    auto later = f.plan({inv("worktree", {dir.path + "/missing"}), inv("log-dir", {"/logs"})});
    REQUIRE(later.required_dirs.size() == 2);
    CHECK(later.required_dirs[0].what == "--worktree");
    CHECK(later.required_dirs[0].path == dir.path + "/missing");
    CHECK(later.required_dirs[1].what == "--log-dir");
    CHECK(later.required_dirs[1].path == "/logs");
    CHECK(f.args({inv("log-dir")}) == Strings{"--ro-bind", "/rt/log", "/var/log/cell"});
    CHECK(f.args({inv("log-dir"), inv("log-dir", {dir.path})}) ==
          Strings{"--ro-bind", dir.path, "/var/log/cell"});
    // The last log-dir wins, and only it must exist.
    auto last = f.plan({inv("log-dir", {"/first"}), inv("log-dir", {"/second"})});
    REQUIRE(last.required_dirs.size() == 1);
    CHECK(last.required_dirs[0].path == "/second");
    CHECK(f.plan({inv("log-dir", {"/first"}), inv("log-dir")}).required_dirs.empty());
}

TEST_CASE("base's read-only / comes after raw args, so raw mount points can be made") {
    Fixture f;
    auto args = f.args({inv("base"), inv("raw-arg", {"--dir"}), inv("raw-arg", {"/new"})});
    CHECK(Strings(args.end() - 4, args.end()) == Strings{"--dir", "/new", "--remount-ro", "/"});
}

TEST_CASE("raw-args come last, verbatim") {
    Fixture f;
    auto args = f.args({inv("raw-args", {"--cap-add", "ALL"}), inv("set-env", {"A", "b"}),
                        inv("chdir", {"/w"}), inv("raw-arg", {"--bogus $x"})});
    CHECK(args == Strings{"--setenv", "A", "b", "--chdir", "/w", "--cap-add", "ALL", "--bogus $x"});
}
