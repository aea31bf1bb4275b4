# A stand-in for nixpkgs, just enough for nix/*.nix and flake.nix to
# evaluate with Debian's nix-instantiate (no nixpkgs here, no network).
#
# `root` is where the "packages" live: "/stub" for text assertions, or a
# directory of symlinks to real programs when a test runs the build script.
# `cellPackage` is the unsafe-cell package callPackage ./nix/package.nix
# returns; the stdenv.mkDerivation stub keeps its arguments for inspection.
{ root ? "/stub", cellPackage ? "${root}/unsafe-cell" }:
let
  pkg = name: { outPath = "${root}/${name}"; inherit name; };
  lib = {
    getDev = p: p;
    getLib = p: p;
    cleanSourceWith = { src, filter }: src;
    cleanSourceFilter = _path: _type: true;
    removePrefix = pre: s:
      let n = builtins.stringLength pre; in
      if builtins.substring 0 n s == pre then builtins.substring n (-1) s else s;
    hasPrefix = pre: s: builtins.substring 0 (builtins.stringLength pre) s == pre;
    hasInfix = inf: s: builtins.match ".*${inf}.*" s != null;
    makeBinPath = ps: builtins.concatStringsSep ":" (map (p: "${p}/bin") ps);
    licenses.mit = "mit";
    platforms.linux = [ "x86_64-linux" "aarch64-linux" ];
  };
  self = {
    inherit lib;
    bubblewrap = pkg "bubblewrap";
    coreutils = pkg "coreutils";
    bash = pkg "bash";
    cacert = pkg "cacert";
    gnused = pkg "gnused";
    gnugrep = pkg "gnugrep";
    gawk = pkg "gawk";
    findutils = pkg "findutils";
    ripgrep = pkg "ripgrep";
    meson = pkg "meson";
    ninja = pkg "ninja";
    pkg-config = pkg "pkg-config";
    makeWrapper = pkg "make-wrapper";
    python3 = pkg "python3";
    catch2 = pkg "catch2";
    boost = pkg "boost" // { override = o: pkg "boost-static${if o.enableStatic or false then "" else "-NOT"}"; };
    glibc = pkg "glibc" // { static = pkg "glibc-static"; };
    fmt = pkg "fmt";
    runtimeShell = "/bin/bash";
    nix = pkg "nix-2.24" // { pname = "nix"; };
    clang-tools = pkg "clang-tools";
    nixfmt-rfc-style = pkg "nixfmt-rfc-style";
    mkShell = attrs: attrs // { name = attrs.name or "nix-shell"; outPath = "${root}/shell"; };
    hello = pkg "hello-2.12" // { pname = "hello"; };
    opencode = pkg "opencode-0.1" // { meta.mainProgram = "opencode"; };
    git = pkg "git-2.44" // { pname = "git"; };
    writeShellApplication = { name, text, runtimeInputs ? [ ], ... }:
      { outPath = "${root}/${name}"; inherit name text runtimeInputs; meta.mainProgram = name; };
    writeText = name: text: { outPath = "${root}/${name}"; inherit name text; };
    # The build script's text is the result, so a test can read or run it.
    # mkDerivation lifts `passthru` onto the result; so does this stub.
    runCommand = name: env: script:
      builtins.removeAttrs env [ "passthru" ] // env.passthru or { }
      // { inherit name script; outPath = "${root}/cells/${name}"; };
    stdenv.mkDerivation = attrs: attrs // { outPath = cellPackage; };
    callPackage = path: overrides:
      let
        f = import path;
        wanted = builtins.functionArgs f;
        given = builtins.intersectAttrs wanted self;
      in
      f (given // overrides);
  };
in
self
