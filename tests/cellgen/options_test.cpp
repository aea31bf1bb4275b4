// The command line and profiles: merge order, repeated options, and every
// usage error (one line naming the flag or FILE:LINE, exit 2, nothing created).
#include "tests/cellgen/plan_fixture.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using cellgen_test::Fixture;
using Strings = std::vector<std::string>;

namespace {

std::string write_profile(const cellgen_test::TempDir& dir, const std::string& text) {
    auto path = dir.path + "/profile.ini";
    std::ofstream(path) << text;
    return path;
}

Strings argv_lines(const std::string& out) {
    Strings lines;
    std::size_t start = 0;
    for (auto end = out.find('\n'); end != std::string::npos; end = out.find('\n', start)) {
        lines.push_back(out.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

const Strings kBins{"--relay-bin", "/opt/r", "--proxy-bin", "/opt/p"};

// The helper flags go first: everything after `--` is the command.
Strings with(const Strings& a, Strings b) {
    b.insert(b.end(), a.begin(), a.end());
    return b;
}

} // namespace

TEST_CASE("profile combinators come first, then the flags'; repeats keep order") {
    Fixture f;
    cellgen_test::TempDir dir;
    auto profile = write_profile(dir, "# comment\n"
                                      "base =\n"
                                      "ro-bind = /p1 /x\n"
                                      "set-env = MSG hello  world\n"
                                      "tmpfs = /t1\n"
                                      "allow = from-profile.org\n"
                                      "proxy =\n"
                                      "proxy-port = 1111\n");
    auto r = f.cli(
        with({"--profile", profile,   "--print", "argv",  "--tmpfs",      "/t2",   "--ro-bind",
              "/f1",       "/y",      "--allow", "a.org", "--proxy-port", "2222",  "--allow",
              "b.org",     "--tmpfs", "/t3",     "--",    "cmd",          "--flag"},
             kBins));
    // stderr holds only the policy's comment lines (argv's stdout stays clean).
    REQUIRE(r.err.starts_with("# cellgen test: the jail only."));
    REQUIRE(r.err.find("\n/") == std::string::npos);
    REQUIRE(r.status == 0);
    auto lines = argv_lines(r.out);
    Strings mounts;
    for (const auto& l : lines) {
        if (l == "/p1" || l == "/f1" || (l.starts_with("/t") && l != "/tmp")) {
            mounts.push_back(l);
        }
    }
    CHECK(mounts == Strings{"/p1", "/t1", "/t2", "/f1", "/t3"});
    CHECK(std::find(lines.begin(), lines.end(), "hello  world") != lines.end());
    CHECK(std::find(lines.begin(), lines.end(), "http://127.0.0.1:2222") != lines.end());
    CHECK(Strings(lines.end() - 2, lines.end()) == Strings{"cmd", "--flag"});

    auto json = f.cli(with(
        {"--profile", profile, "--print", "json", "--allow", "a.org", "--allow", "b.org"}, kBins));
    REQUIRE(json.status == 0);
    auto argv = boost::json::parse(json.out).at("daemons").at(0).at("argv").as_array();
    Strings allowed;
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i].as_string() == "--allow") {
            allowed.emplace_back(argv[i + 1].as_string().c_str());
        }
    }
    CHECK(allowed == Strings{"from-profile.org", "a.org", "b.org"});
}

TEST_CASE("the default profile: base, host-system, nix, proxy, log-dir; --nix off") {
    Fixture f;
    auto r = f.cli(with({"--print", "json", "--runtime-dir", "/rt"}, kBins));
    REQUIRE(r.err == "");
    auto plan = boost::json::parse(r.out);
    const auto& daemons = plan.at("daemons").as_array();
    REQUIRE(daemons.size() == 2);
    CHECK(daemons[0].at("name").as_string() == "proxy");
    CHECK(daemons[1].at("name").as_string() == "nix");
    CHECK(plan.at("logs").at("dir").as_string() == "/rt/log");
    CHECK(plan.at("env").at("TERM").as_string() == "xterm");
    auto off = f.cli(with({"--print", "json", "--nix", "off"}, kBins));
    CHECK(boost::json::parse(off.out).at("daemons").as_array().size() == 1);
    // shell: the policy as comments, then the command; argv: the policy on
    // stderr, stdout one argument per line.
    auto shell = f.cli(with({"--print", "shell", "--allow", "a.example"}, kBins)).out;
    CHECK(shell.starts_with("# cellgen "));
    CHECK(shell.find("\n# proxy: 127.0.0.1:3128 (HTTP), 127.0.0.1:1080 (SOCKS5) in the jail; "
                     "domains allowed: a.example; denied: none\n") != std::string::npos);
    CHECK(shell.find("\n# addresses: loopback, private, link-local and metadata refused, except: "
                     "none; CONNECT ports: 80 443\n") != std::string::npos);
    CHECK(shell.find("\n/usr/bin/bwrap --unshare-user") != std::string::npos);
    auto argv = f.cli(with({"--print", "argv"}, kBins));
    CHECK(argv.out.starts_with("/usr/bin/bwrap\n--unshare-user\n"));
    CHECK(argv.err.find("# proxy: 127.0.0.1:3128 (HTTP), 127.0.0.1:1080 (SOCKS5) in the jail; "
                        "domains allowed: none (deny by default)") != std::string::npos);
    // --forward and --socks-port: each port served inside, what it reaches.
    auto fwd = f.cli(with({"--print", "shell", "--socks-port", "0", "--forward",
                           "5432=DB.Example.:5432", "--forward", "6000=[::1]:6379"},
                          kBins))
                   .out;
    CHECK(fwd.find("\n# proxy: 127.0.0.1:3128 (HTTP), 127.0.0.1:5432 (forward to "
                   "db.example:5432), 127.0.0.1:6000 (forward to [::1]:6379) in the jail;") !=
          std::string::npos);
    CHECK(fwd.find("--forward 'fd:8=db.example:5432' --forward 'fd:9=[::1]:6379'") !=
          std::string::npos);
    CHECK(fwd.find("ALL_PROXY http://127.0.0.1:3128") != std::string::npos);
}

TEST_CASE("--help lists every combinator") {
    Fixture f;
    auto r = f.cli({"--help"});
    CHECK(r.status == 0);
    for (const auto& c : cellgen::combinator_table()) {
        CHECK(r.out.find("  --" + c.name) != std::string::npos);
    }
}

TEST_CASE("usage errors: one line naming the culprit, exit 2, nothing created") {
    Fixture f;
    f.env["HOME"] = "/home/cellgen-test-user/";
    cellgen_test::TempDir dir;
    auto bad_key = write_profile(dir, "base =\n\n# x\nno-such-key = 1\n");
    // Files of the proxy-flag cases live apart: `dir` must end with only profile.ini.
    cellgen_test::TempDir proxy_dir;
    auto bad_filter = proxy_dir.path + "/filter";
    std::ofstream(bad_filter) << "# allowlist\nexample\\.com\n[unclosed\n";
    auto bad_allow = proxy_dir.path + "/allow.ini";
    std::ofstream(bad_allow) << "base =\nallow = a..b\n";
    auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path);
    struct Case {
        Strings args;
        std::string expected;
    };
    const std::vector<Case> cases{
        {{"--ro-bind", "/a", "b"}, "--ro-bind: 'b': jail path must be absolute"},
        {{"--set-env", "BAD-NAME", "x"}, "'BAD-NAME' is not a valid environment variable name"},
        {{"--share-ns", "mnt"}, "unknown namespace 'mnt'"},
        {{"--profile", dir.path + "/missing.ini"},
         "--profile " + dir.path + "/missing.ini: cannot read"},
        {{"--profile", bad_key}, bad_key + ":4: unknown key 'no-such-key'"},
        {{"--profile", dir.path}, "--profile " + dir.path + ": is a directory"},
        {{"--fwd-env", "CELLGEN_SURELY_UNSET"}, "CELLGEN_SURELY_UNSET is not set"},
        {{"--print", "yaml"}, "--print 'yaml'"},
        // The proxy's flags, checked with the proxy's own parsers.
        {{"--allow-cidr", "10.0.0.300/8"},
         "--allow-cidr: CIDR '10.0.0.300/8': '10.0.0.300' is not an IP address"},
        {{"--allow-cidr", "10.0.0.0/33"},
         "--allow-cidr: CIDR '10.0.0.0/33': prefix length above 32"},
        {{"--allow-cidr", "10.0.0.0/"}, "prefix length is not a number"},
        {{"--proxy-port", "70000"}, "--proxy-port: port '70000' is not a number from 1 to 65535"},
        {{"--connect-port", "x"}, "--connect-port: port 'x' is not a number from 1 to 65535"},
        {{"--connect-port", "0"}, "--connect-port: port '0' is not"},
        {{"--allow", "a..b"}, "--allow 'a..b': "},
        {{"--deny", "exa mple.com"}, "--deny 'exa mple.com': "},
        {{"--allow", "*.com"}, "--allow '*.com': "},
        {{"--allow", "example.com:99999"}, "--allow 'example.com:99999': "},
        {{"--socks-port", "65536"}, "--socks-port: port '65536' is not a number from 1 to 65535"},
        {{"--socks-port", "3128"}, "--socks-port 3128: the cell's proxy port (--proxy-port) is "},
        {{"--forward", "5432"}, "--forward '5432': not PORT=HOST:PORT"},
        {{"--forward", "0=db:5432"}, "--forward: port '0' is not a number from 1 to 65535"},
        {{"--forward", "5432=db:70000"}, "--forward: port '70000' is not a number"},
        {{"--forward", "5432=db"}, "--forward '5432=db': the destination is not HOST:PORT"},
        {{"--forward", "5432=2130706433:5432"}, "--forward '5432=2130706433:5432': "},
        {{"--forward", "1080=db:5432"},
         "--forward '1080=db:5432': port 1080 inside the cell is "
         "taken by --socks-port"},
        {{"--forward", "9=a:1", "--forward", "9=b:2"},
         "--forward '9=b:2': port 9 inside the cell is taken by --forward"},
        {{"--filter", bad_filter}, "--filter: " + bad_filter + ":3: "},
        {{"--profile", bad_allow}, bad_allow + ":2: allow 'a..b': "},
        {{"--filter-type", "pcre"}, "--filter-type 'pcre': must be one of"},
        {{"--filter", dir.path + "/nofilter"}, "cannot read this file"},
        {{"--nix", "maybe"}, "--nix 'maybe'"},
        {{"--no-such-flag"}, "unrecognised option '--no-such-flag'"},
        {{"--worktre", "/w"}, "unrecognised option '--worktre' (did you mean --worktree?)"},
        {{"--alow", "x.org"}, "(did you mean --allow?)"},
        {{"--tmpfs"}, "--tmpfs: expects DEST (got 0 arguments)"},
        {{"--host-system", "extra"}, "--host-system: takes no arguments"},
        {{"--base"}, "base must be the first"},
        {{"-0"}, "-0: only with --print argv"},
        {{"--print", "script", "--runtime-dir", "/x"}, "--runtime-dir: not with --print script"},
        {{"--runtime-dir", "rel"}, "--runtime-dir 'rel': must be absolute"},
        {{"--tmpfs-size", "2T"}, "--tmpfs-size '2T': not a size"},
        {{"--tmpfs-size", "-1"}, "--tmpfs-size '-1': not a size"},
        {{"--max-procs", "lots"}, "--max-procs 'lots': not a count"},
        {{"--memory-max", "8X"}, "--memory-max '8X': not a size"},
        {{"--worktree", "/"}, "--worktree: '/' is the root of the host's file system"},
        {{"--worktree", "/usr/../"}, "--worktree: '/' is the root"},
        {{"--worktree", "/etc"}, "--worktree: '/etc' is a whole-system directory"},
        {{"--worktree", "/nix/store/"}, "--worktree: '/nix/store' is a whole-system directory"},
        {{"--log-dir", "/var"}, "--log-dir: '/var' is a whole-system directory"},
        {{"--worktree", "/home/cellgen-test-user"}, "is your home directory ($HOME)"},
        {{"--worktree", "/home/"}, "'/home' is a whole-system directory"},
    };
    for (const auto& c : cases) {
        auto r = f.cli(with(c.args, kBins));
        INFO(c.args.front());
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.starts_with("cellgen: "));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.find(c.expected) != std::string::npos);
    }
    std::filesystem::current_path(cwd);
    Strings left;
    for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
        left.push_back(e.path().filename().string());
    }
    CHECK(left == Strings{"profile.ini"});
}

TEST_CASE("proxy flags mean to cellgen what they mean to the proxy") {
    Fixture f;
    cellgen_test::TempDir dir;
    // A bare address is that one host, /32 or /128, as the proxy reads it.
    auto r = f.cli(with({"--allow-cidr", "10.1.2.3", "--allow-cidr", "fd00::1", "--connect-port",
                         "0443", "--print", "plan", "--", "true"},
                        kBins));
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find(R"("--allow-cidr","10.1.2.3","--allow-cidr","fd00::1")") != std::string::npos);
    // --connect-port adds to the default 80 and 443 (the proxy's own flag
    // replaces them, so the plan spells them out).
    CHECK(r.out.find(R"("--connect-port","80","--connect-port","443")") != std::string::npos);
    CHECK(r.out.find(R"("--connect-port","443","--connect-port","443")") == std::string::npos);
    // A filter file's lint is said at start, not only in proxy.log.
    auto lint = dir.path + "/lint";
    std::ofstream(lint) << "github\\.com\n";
    auto linted = f.cli(with({"--filter", lint, "--print", "plan", "--", "true"}, kBins));
    REQUIRE(linted.status == 0);
    CHECK(linted.out.find(R"("notices":[")") != std::string::npos);
    CHECK(linted.out.find(":1: warning: ") != std::string::npos);
    // The filter file is compiled with --filter-type, wherever that flag comes.
    auto filter = dir.path + "/filter";
    std::ofstream(filter) << "[unclosed\n";
    CHECK(f.cli(with({"--filter", filter, "--print", "plan", "--", "true"}, kBins)).status == 2);
    auto fn = f.cli(with(
        {"--filter", filter, "--filter-type", "fnmatch", "--print", "plan", "--", "true"}, kBins));
    INFO(fn.err);
    CHECK(fn.status == 0);
}

TEST_CASE("worktree and log dir: whole-system dirs need --unsafe-allow-system-dir") {
    Fixture f;
    f.env["HOME"] = "/srv/users/me";
    auto refused = f.cli(with({"--worktree", "/srv/users", "--print", "json"}, kBins));
    CHECK(refused.status == 2);
    CHECK(refused.err.find("'/srv/users' is a parent of your home directory") != std::string::npos);
    CHECK(f.cli(with({"--worktree", "/srv/users/me/project", "--print", "json"}, kBins)).status ==
          0);
    // The override may come before or after the dirs it covers.
    for (const Strings& args :
         {Strings{"--unsafe-allow-system-dir", "--worktree", "/", "--log-dir", "/var"},
          Strings{"--worktree", "/", "--log-dir", "/var", "--unsafe-allow-system-dir"}}) {
        auto r = f.cli(with(args, kBins));
        INFO(r.err);
        CHECK(r.status == 0);
    }
    // The launcher checks again, resolved: the plan says whether it may.
    auto plan = f.cli(with(
        {"--worktree", "/", "--unsafe-allow-system-dir", "--print", "plan", "--", "true"}, kBins));
    REQUIRE(plan.status == 0);
    CHECK(plan.out.find("\"path\":\"/\",\"system_ok\":true") != std::string::npos);
}

TEST_CASE("profile lines: values split at whitespace, zero-arg keys, bad lines") {
    Fixture f;
    cellgen_test::TempDir dir;
    auto p = write_profile(dir, "symlink = usr/bin /bin\nhost-system = true\n");
    auto r = f.cli({"--profile", p, "--print", "argv"});
    REQUIRE(r.status == 0);
    CHECK(r.out.find("--symlink\nusr/bin\n/bin\n--ro-bind\n/usr\n/usr\n") != std::string::npos);
    auto bad = write_profile(dir, "tmpfs = /a\njust text\n");
    CHECK(f.cli({"--profile", bad}).err ==
          "cellgen: " + bad + ":2: expected `name = value`, got 'just text'\n");
    // A missing worktree is the launcher's to report (a Nix build renders
    // wrappers for directories that only exist later); the plan names the
    // profile line for its message.
    auto later = write_profile(dir, "\n\nworktree = /does/not/exist\n");
    auto json = f.cli({"--profile", later, "--print", "json"});
    REQUIRE(json.status == 0);
    CHECK(json.out.find(R"({"what":")" + later + R"(:3: worktree","path":"/does/not/exist"})") !=
          std::string::npos);
}
