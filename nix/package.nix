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
, writeText
, bubblewrap
, catch2
, boost
, fmt
, boost181 ? null
, fmt_9 ? null
}:
let
  boostPkg = if boost181 != null then boost181 else boost;
  fmtPkg = if fmt_9 != null then fmt_9 else fmt;

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

  nativeBuildInputs = [ meson ninja pkg-config makeWrapper ];
  # Catch2 only for the unit tests meson builds by default.
  buildInputs = [ boostPkg fmtPkg catch2 ];

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

  # bwrap is found on PATH unless cellgen is told otherwise; ship ours.
  postFixup = ''
    for prog in cell cellgen; do
      if [ -e "$out/bin/$prog" ]; then
        wrapProgram "$out/bin/$prog" --prefix PATH : ${lib.makeBinPath [ bubblewrap ]}
      fi
    done
  '';

  meta = {
    description = "Run a trusted but fallible program in a bubblewrap cell with a domain-allowlisting proxy and the host's nix daemon";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
    mainProgram = "cell";
  };
}
