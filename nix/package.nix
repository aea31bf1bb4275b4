# The four programs (cell, cellgen, relay, proxy) built with meson, for
# `pkgs.callPackage ./nix/package.nix { }`.
#
# Versions: the project is developed and tested against Debian 12 (Boost 1.81,
# fmt 9, Catch2 v2); the pinned attributes are used when this nixpkgs still has
# them so a Nix build compiles the same library APIs.
{ lib
, stdenv
, meson
, ninja
, pkg-config
, makeWrapper
, python3
, writeText
, bubblewrap
, catch2
, boost
, fmt
, glibc
, boost181 ? null
, fmt_9 ? null
}:
let
  # A pinned attribute that a later nixpkgs removed may be a throwing alias;
  # fall back to the default package then.
  available = p: let r = builtins.tryEval p; in if r.success then r.value else null;
  orDefault = pinned: default: if available pinned != null then pinned else default;

  # cellgen and relay link Boost statically (they start at every cell start,
  # and a static binary starts faster; relay can also run in a jail that
  # holds nothing but itself), so the
  # static archives are needed next to the shared ones. nixpkgs' cache has no
  # such Boost: the first build compiles it.
  boostPkg = (orDefault boost181 boost).override { enableStatic = true; };
  fmtPkg = orDefault fmt_9 fmt;

  # Meson's Boost finder does not look where nixpkgs splits headers (dev) and
  # libraries (out); a native file names both.
  boostNativeFile = writeText "unsafe-cell-boost.ini" ''
    [properties]
    boost_includedir = '${lib.getDev boostPkg}/include'
    boost_librarydir = '${lib.getLib boostPkg}/lib'
  '';

  # Only the sources: no build dirs, editor files or VCS metadata.
  src = lib.cleanSourceWith {
    src = ../.;
    filter = path: type:
      let rel = lib.removePrefix (toString ../. + "/") (toString path); in
      !(lib.hasPrefix "build" rel && type == "directory" && !(lib.hasInfix "/" rel))
      && !(lib.hasPrefix "result" rel)
      && lib.cleanSourceFilter path type;
  };
in
stdenv.mkDerivation {
  pname = "unsafe-cell";
  version = "0.1.0";
  inherit src;

  # python3: `cell` embeds its help/doctor script into its binary with it, and
  # the test definitions look it up at configure time.
  nativeBuildInputs = [ meson ninja pkg-config makeWrapper python3 ];
  # Catch2 only for the unit tests meson builds by default; libc.a so that
  # meson's `-static` probe succeeds as it does on Debian.
  buildInputs = [ boostPkg fmtPkg catch2 glibc.static ];

  mesonBuildType = "release";
  mesonFlags = [
    "--native-file=${boostNativeFile}"
    # A newer compiler in nixpkgs may warn where Debian's g++ 12 does not;
    # that must not break a user's build (CI keeps -Werror on).
    "-Dwerror=false"
  ];

  # The test suite needs user namespaces, a nix daemon and loopback servers,
  # none of which the build sandbox offers; .ci/run runs it instead.
  doCheck = false;

  # cellgen puts the bwrap it finds on PATH into every plan; `cell` (which
  # plans as cellgen does) gets ours first on PATH. cellgen itself stays unwrapped:
  # it is static for start-up speed, and a shell wrapper would undo that.
  postFixup = ''
    wrapProgram "$out/bin/cell" --prefix PATH : ${lib.makeBinPath [ bubblewrap ]}
  '';

  meta = {
    description = "Run a trusted but fallible program in a bubblewrap cell with a domain-allowlisting proxy and the host's nix daemon";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
    mainProgram = "cell";
  };
}
