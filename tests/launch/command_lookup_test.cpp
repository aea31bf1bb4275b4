// The look-up of a cell's command before anything starts (issue 17 item 6),
// against a scratch host tree: found, missing, and `unknown` wherever
// bwrap's options hide what the jail will hold; and the --mask glob.
#include "launch/command_lookup.hpp"
#include "launch/mask.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using launch::Lookup;
using launch::lookup_in_jail;

namespace {

struct Tree {
    Tree() {
        std::string tmpl = (fs::temp_directory_path() / "lookup-test.XXXXXX").string();
        root = ::mkdtemp(tmpl.data());
        fs::create_directories(root + "/usr/bin");
        fs::create_directories(root + "/etc/alternatives");
        fs::create_directories(root + "/wt/scripts");
        fs::create_directories(root + "/store/pkg/bin");
        touch("/usr/bin/sh");
        touch("/usr/bin/vim.basic");
        touch("/wt/scripts/run.sh");
        touch("/store/pkg/bin/hello");
        // Debian's alternatives: absolute links, read in the jail's view.
        fs::create_symlink("/etc/alternatives/editor", root + "/usr/bin/editor");
        fs::create_symlink("/usr/bin/vim.basic", root + "/etc/alternatives/editor");
        fs::create_symlink("/etc/alternatives/gone", root + "/usr/bin/dangling");
        fs::create_symlink("/store/pkg/bin/hello", root + "/usr/bin/hello");
    }
    ~Tree() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
    Tree(const Tree&) = delete;
    Tree& operator=(const Tree&) = delete;
    void touch(const std::string& rel) const { std::ofstream(root + rel) << "#!/bin/sh\n"; }
    std::string root;
};

// A jail like the default cell's, over the scratch tree.
std::vector<std::string> jail(const Tree& t, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--unshare-user",
                                  "--clearenv",
                                  "--proc",
                                  "/proc",
                                  "--dev",
                                  "/dev",
                                  "--tmpfs",
                                  "/home/cell",
                                  "--ro-bind",
                                  t.root + "/usr",
                                  "/usr",
                                  "--symlink",
                                  "usr/bin",
                                  "/bin",
                                  "--ro-bind-try",
                                  t.root + "/etc/alternatives",
                                  "/etc/alternatives",
                                  "--ro-bind-try",
                                  t.root + "/not-there",
                                  "/opt/tool",
                                  "--bind",
                                  t.root + "/wt",
                                  "/home/cell/worktree",
                                  "--chdir",
                                  "/home/cell/worktree",
                                  "--setenv",
                                  "PATH",
                                  "/usr/bin:/bin"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

} // namespace

TEST_CASE("command lookup: a name along the jail's PATH") {
    Tree t;
    auto args = jail(t);
    CHECK(lookup_in_jail(args, "sh", std::nullopt) == Lookup::found);
    CHECK(lookup_in_jail(args, "nosuchcmd", std::nullopt) == Lookup::missing);
    // Absolute links resolve in the jail: editor -> /etc/alternatives/editor
    // (bound) -> /usr/bin/vim.basic.
    CHECK(lookup_in_jail(args, "editor", std::nullopt) == Lookup::found);
    CHECK(lookup_in_jail(args, "dangling", std::nullopt) == Lookup::missing);
    // The link's target exists on the host, but the jail has no /store.
    CHECK(lookup_in_jail(args, "hello", std::nullopt) == Lookup::missing);
    auto with_store = jail(t, {"--ro-bind", t.root + "/store", "/store"});
    CHECK(lookup_in_jail(with_store, "hello", std::nullopt) == Lookup::found);
}

TEST_CASE("command lookup: paths, the working dir and the PATH's source") {
    Tree t;
    auto args = jail(t);
    CHECK(lookup_in_jail(args, "/bin/sh", std::nullopt) == Lookup::found);
    CHECK(lookup_in_jail(args, "/usr/local/bin/sh", std::nullopt) == Lookup::missing);
    CHECK(lookup_in_jail(args, "./scripts/run.sh", std::nullopt) == Lookup::found);
    CHECK(lookup_in_jail(args, "scripts/nope.sh", std::nullopt) == Lookup::missing);
    // A try-bind whose source is missing is not made: nothing at /opt/tool.
    CHECK(lookup_in_jail(args, "/opt/tool/x", std::nullopt) == Lookup::missing);
    // Under a tmpfs nothing exists but the mount points made later.
    CHECK(lookup_in_jail(args, "/home/cell/x", std::nullopt) == Lookup::missing);
    CHECK(lookup_in_jail(args, "/home/cell/worktree/scripts/run.sh", std::nullopt) ==
          Lookup::found);
    // A later PATH wins; without --clearenv the caller's PATH is the jail's.
    auto path_later = jail(t, {"--setenv", "PATH", "/home/cell/worktree/scripts"});
    CHECK(lookup_in_jail(path_later, "run.sh", std::nullopt) == Lookup::found);
    CHECK(lookup_in_jail(path_later, "sh", std::nullopt) == Lookup::missing);
    std::vector<std::string> inherit{"--ro-bind", t.root + "/usr", "/usr"};
    CHECK(lookup_in_jail(inherit, "sh", std::string("/usr/bin")) == Lookup::found);
    CHECK(lookup_in_jail(inherit, "sh", std::string("/sbin")) == Lookup::missing);
    // No PATH at all: execvp's default, /bin:/usr/bin.
    auto unset = jail(t, {"--unsetenv", "PATH"});
    CHECK(lookup_in_jail(unset, "sh", std::nullopt) == Lookup::found);
}

TEST_CASE("command lookup: unknown where bwrap's options hide the answer") {
    Tree t;
    // A file from an fd, an option we do not read, a relative command with
    // no --chdir: bwrap decides.
    CHECK(lookup_in_jail(jail(t, {"--file", "5", "/usr/bin/gen"}), "gen", std::nullopt) ==
          Lookup::found);
    CHECK(lookup_in_jail(jail(t, {"--file", "5", "/opt/x"}), "/opt/x/y", std::nullopt) ==
          Lookup::unknown);
    CHECK(lookup_in_jail(jail(t, {"--overlay-src", "/a", "--tmp-overlay", "/usr"}), "nosuch",
                         std::nullopt) == Lookup::unknown);
    CHECK(lookup_in_jail(jail(t, {"--bind"}), "nosuch", std::nullopt) == Lookup::unknown);
    std::vector<std::string> no_cwd{"--ro-bind", t.root + "/usr", "/usr"};
    CHECK(lookup_in_jail(no_cwd, "./run.sh", std::nullopt) == Lookup::unknown);
    CHECK(lookup_in_jail(no_cwd, "", std::nullopt) == Lookup::unknown);
    // A mount point made under a tmpfs exists, though nothing names it.
    auto deeper = jail(t, {"--ro-bind", t.root + "/store", "/home/cell/.local/store"});
    CHECK(lookup_in_jail(deeper, "/home/cell/.local/store/pkg/bin/hello", std::nullopt) ==
          Lookup::found);
}

TEST_CASE("--mask globs: * ? [..] within a name, ** for any depth") {
    using launch::mask_matches;
    CHECK(mask_matches("**/.env", ".env"));
    CHECK(mask_matches("**/.env", "a/b/.env"));
    CHECK_FALSE(mask_matches("**/.env", "a/.env.example"));
    CHECK(mask_matches("*.pem", "key.pem"));
    CHECK_FALSE(mask_matches("*.pem", "certs/key.pem"));
    CHECK(mask_matches("**/*.pem", "certs/key.pem"));
    CHECK(mask_matches("secrets/**", "secrets/a/b"));
    CHECK_FALSE(mask_matches("secrets/**", "other/secrets"));
    CHECK(mask_matches("id_?sa", "id_rsa"));
    CHECK(mask_matches("[ab].key", "b.key"));
    CHECK_FALSE(mask_matches("[ab].key", "c.key"));
}

TEST_CASE("--mask: the worktree's matching regular files, links neither followed nor matched") {
    Tree t;
    auto wt = t.root + "/wt";
    fs::create_directories(wt + "/a/b");
    std::ofstream(wt + "/.env") << "x";
    std::ofstream(wt + "/a/b/.env") << "x";
    std::ofstream(wt + "/a/b/keep") << "x";
    fs::create_symlink(t.root + "/usr", wt + "/usr-link"); // not walked
    fs::create_symlink(".env", wt + "/a/.env");            // a link: not a file to mask
    std::ofstream(t.root + "/usr/.env") << "x";
    auto found = launch::masked_files(wt, {"**/.env"});
    std::sort(found.begin(), found.end());
    CHECK(found == std::vector<std::string>{".env", "a/b/.env"});
    CHECK_THROWS_WITH(launch::masked_files(wt, {"**/.env"}, 3),
                      Catch::Contains("more than 3 entries"));
}
