#!/usr/bin/env bash
# flake.nix and examples/flake/flake.nix evaluated with stub inputs (a stub
# nixpkgs; the example gets this repository's evaluated outputs as its
# unsafe-cell input): the outputs exist, the apps point at the four
# programs, lib.mkCell and the overlay work, default.nix agrees.
set -uo pipefail
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SOURCE_ROOT/tests/lib/tap.sh"
source "$SOURCE_ROOT/tests/nix/nix_eval.sh"

prelude='let
  stub = import ./tests/nix/stub-pkgs.nix { };
  nixpkgs = { legacyPackages = { x86_64-linux = stub; aarch64-linux = stub; }; };
  flake = import ./flake.nix;
  uc = flake.outputs { self = uc // { outPath = ./.; }; inherit nixpkgs; };
  example = import ./examples/flake/flake.nix;
  ex = example.outputs { self = ex; inherit nixpkgs; unsafe-cell = uc; };
in'

expect_json "flake: inputs and description" \
    "$prelude [ flake.inputs.nixpkgs.url (builtins.isString flake.description) (builtins.functionArgs flake.outputs) ]" \
    '["github:NixOS/nixpkgs/nixos-24.11",true,{"nixpkgs":false,"self":false}]'

expect_json "flake: packages for both Linux systems, built by nix/package.nix" \
    "$prelude map (s: [ uc.packages.\${s}.default.pname (toString uc.packages.\${s}.default) (uc.packages.\${s}.unsafe-cell == uc.packages.\${s}.default) ]) [ \"x86_64-linux\" \"aarch64-linux\" ]" \
    '[["unsafe-cell","/stub/unsafe-cell",true],["unsafe-cell","/stub/unsafe-cell",true]]'

expect_json "package: static Boost and libc.a (cellgen and relay link statically), werror off" \
    "$prelude let p = uc.packages.x86_64-linux.default; in [ (map toString p.buildInputs) p.mesonFlags p.doCheck ]" \
    '[["/stub/boost-static","/stub/fmt","/stub/catch2","/stub/glibc-static"],["--native-file=/stub/unsafe-cell-boost.ini","-Dwerror=false"],false]'

expect_json "package: pinned fmt_9/boost181 used when present, a throwing alias falls back" \
    "$prelude let d = stub.callPackage ./nix/package.nix { boost181 = throw \"removed\"; fmt_9 = stub.fmt // { outPath = \"/stub/fmt9\"; }; };
     in map toString d.buildInputs" \
    '["/stub/boost-static","/stub/fmt9","/stub/catch2","/stub/glibc-static"]'

expect_json "flake: apps run cell, cellgen, relay and proxy" \
    "$prelude builtins.mapAttrs (_: a: [ a.type a.program (builtins.isString a.meta.description) ]) uc.apps.x86_64-linux" \
    '{"cell":["app","/stub/unsafe-cell/bin/cell",true],"cellgen":["app","/stub/unsafe-cell/bin/cellgen",true],"default":["app","/stub/unsafe-cell/bin/cell",true],"proxy":["app","/stub/unsafe-cell/libexec/unsafe-cell/proxy",true],"relay":["app","/stub/unsafe-cell/libexec/unsafe-cell/relay",true]}'

expect_json "flake: checks build the package" \
    "$prelude map (s: uc.checks.\${s}.package.pname) [ \"x86_64-linux\" \"aarch64-linux\" ]" \
    '["unsafe-cell","unsafe-cell"]'

expect_json "flake: checks run the pure-eval Nix tests, each failing the build on failure" \
    "$prelude let c = uc.checks.x86_64-linux.nix-eval; in
       [ c.name (map toString c.nativeBuildInputs)
         (builtins.match \".*for t in parse cell_args mk_cell flake original; do.*PIPESTATUS.*\" c.script != null) ]" \
    '["unsafe-cell-nix-eval-tests",["/stub/nix-2.24","/stub/bash","/stub/python3"],true]'

expect_json "flake: every test the check runs exists" \
    "$prelude let c = uc.checks.x86_64-linux.nix-eval; in
       builtins.all (t: builtins.pathExists (./tests/nix + \"/\${t}.sh\"))
         (builtins.filter builtins.isString (builtins.split \" \" (builtins.head (builtins.match \".*for t in ([a-z_ ]*); do.*\" c.script))))" \
    true

expect_json "flake: devShells.default has the package's inputs and the test tools" \
    "$prelude let d = uc.devShells.x86_64-linux.default; in
       [ (map (p: p.pname) d.inputsFrom) (map toString d.packages) ]" \
    '[["unsafe-cell"],["/stub/bubblewrap","/stub/nix-2.24","/stub/python3","/stub/clang-tools","/stub/nixfmt-rfc-style"]]'

expect_json "flake: a formatter for both systems" \
    "$prelude map (s: toString uc.formatter.\${s}) [ \"x86_64-linux\" \"aarch64-linux\" ]" \
    '["/stub/nixfmt-rfc-style","/stub/nixfmt-rfc-style"]'

expect_json "flake: lib.mkCell renders a wrapper with the caller's pkgs" \
    "$prelude let c = uc.lib.mkCell { pkgs = stub; command = p: p.hello; worktreePath = \"/w\"; }; in [ c.name c.cellgenArgs ]" \
    '["cell-hello",["--profile","/stub/cell-hello-profile.ini","--bwrap-bin","/stub/bubblewrap/bin/bwrap","--worktree","/w","--nix-daemon-socket","/nix/var/nix/daemon-socket","--allow-all","--","/stub/hello-2.12/bin/hello"]]'

expect_json "flake: the overlay adds unsafe-cell" \
    "$prelude (uc.overlays.default stub stub).unsafe-cell.pname" '"unsafe-cell"'

expect_json "default.nix: the same package and mkCell" \
    "$prelude let d = import ./default.nix { pkgs = stub; }; in [ d.unsafe-cell.pname (d.mkCell { pkgs = stub; command = p: p.hello; worktreePath = \"/w\"; }).cellgenArgs ]" \
    '["unsafe-cell",["--profile","/stub/cell-hello-profile.ini","--bwrap-bin","/stub/bubblewrap/bin/bwrap","--worktree","/w","--nix-daemon-socket","/nix/var/nix/daemon-socket","--allow-all","--","/stub/hello-2.12/bin/hello"]]'

expect_json "example flake: the agent cell's arguments" \
    "$prelude [ ex.packages.x86_64-linux.agent.name ex.packages.x86_64-linux.agent.cellgenArgs ex.apps.x86_64-linux.agent.program ]" \
    '["agent",["--profile","/stub/agent-profile.ini","--bwrap-bin","/stub/bubblewrap/bin/bwrap","--worktree","/home/me/src/project","--nix-daemon-socket","/nix/var/nix/daemon-socket","--log-dir","/home/me/.local/state/agent-cell","--allow","api.anthropic.com","--allow","api.openai.com","--allow","registry.npmjs.org","--allow","pypi.org","--allow","files.pythonhosted.org","--","/stub/opencode-with-tools/bin/opencode-with-tools"],"/stub/cells/agent/bin/agent"]'

expect_json "example flake: the agent's command carries its tools" \
    "$prelude map (p: p.name) ex.packages.x86_64-linux.agent.command.runtimeInputs" \
    '["opencode-0.1","git-2.44","ripgrep","coreutils","findutils","gnugrep","gnused"]'

expect_json "example flake: the CI cell uses its filter from the store, as ERE, with nix on" \
    "$prelude let a = ex.packages.x86_64-linux.ci.cellgenArgs; in
       [ (builtins.elemAt a 8) (builtins.match \"/nix/store/[a-z0-9]{32}-ci.filter\" (builtins.elemAt a 9) != null) ]
       ++ builtins.genList (i: builtins.elemAt a (i + 10)) (builtins.length a - 10)" \
    '["--filter",true,"--filter-type","ere","--nix","on","--","/stub/ci-job/bin/ci-job"]'

tap_done
