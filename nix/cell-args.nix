# mkCell's arguments -> the cellgen command line that renders the cell.
#
# Pure: no derivations are built and nothing from nixpkgs' lib is used, so the
# tests evaluate this file with Debian's nix-instantiate and a stub `pkgs`.
# Every argument is checked here and a bad one stops evaluation with a message
# naming it; mk-cell.nix only turns the result into a derivation.
#
# The parameters are the reference flake's (command, worktreePath,
# extraCombinators, tinyproxyFilter, logDir, nixDaemonSocket) plus our own;
# see nix/README.md. extraCombinators gets the set from combinators.nix.
#
# Result: { name; command; program; profileText; argv; }: `command` is the
# command's derivation, `program` its main executable, and `argv` what follows
# `cellgen --print script` (options, then `--` and the program).
#
# The cell's base is mkCell's own profile (profileText, written to the store
# with pkgs.writeText), not cellgen's embedded default: that one inspects the
# host (its /usr, merged or not; whether /nix/store exists), and a wrapper is
# rendered in the build sandbox, not on the host where it runs. This profile
# names only store paths, so it renders the same cell anywhere: the nix
# store (the command's closure), the daemon, the proxy, and the few fixed
# paths programs expect (/bin/sh, /usr/bin/env, CA certificates).
let
  combinators = import ./combinators.nix;

  # The reference flake's parameters keep their names, types and meaning
  # (see nix/README.md); the names this mkCell had before are aliases.
  defaults = {
    extraCombinators = _: [ ];
    extraArgs = [ ];
    tinyproxyFilter = null;
    proxyFilterType = null;
    allow = [ ];
    logDir = null;
    # The reference flake's default was "/var/nix/daemon-socket", where no
    # Nix installation puts it; nix/README.md says so.
    nixDaemonSocket = "/nix/var/nix/daemon-socket";
    name = null;
    package = null;
  };
  required = [ "pkgs" "command" "worktreePath" ];
  # alias -> the reference flake's name
  aliases = {
    proxyFilter = "tinyproxyFilter";
  };
  known = required ++ builtins.attrNames defaults ++ builtins.attrNames aliases;

  fail = arg: msg: throw "mkCell: argument '${arg}': ${msg}";

  typeOf = builtins.typeOf;
  isAbsolute = s: builtins.substring 0 1 s == "/";
  hasDotDot = s: builtins.elem ".." (builtins.filter builtins.isString (builtins.split "/" s));

  # Host paths are baked into the wrapper as strings. A Nix path literal would
  # be copied into the (read-only) store, which is never what a worktree or a
  # log dir means, so those must be strings.
  checkHostPath = arg: v:
    if !builtins.isString v then
      fail arg "expected an absolute host path as a string, got a ${typeOf v}${
        if builtins.isPath v then " (a Nix path would be copied into the read-only store; write it as a string)" else ""}"
    else if !isAbsolute v then
      fail arg "'${v}' is not absolute"
    else if hasDotDot v then
      fail arg "'${v}' contains '..'"
    else if builtins.match ".*[\n].*" v != null then
      fail arg "contains a newline"
    else
      v;

  checkOptionalHostPath = arg: v: if v == null then null else checkHostPath arg v;

  # A filter file must be readable when cellgen renders the wrapper inside the
  # Nix build sandbox, so it has to live in the store: a path literal is
  # copied there by interpolation, and so is an absolute host path given as a
  # string (the reference flake's form; impure: pure flake evaluation refuses
  # to read it, and an edit to the file needs a rebuild). A store path string
  # is used as it is. `arg` is the name the caller used.
  checkFilter = arg: v:
    if v == null then
      null
    else if builtins.isPath v then
      "${v}"
    else if builtins.isString v && builtins.match "/nix/store/.+" v != null then
      v
    else if builtins.isString v && isAbsolute v && !hasDotDot v then
      "${/. + v}"
    else if builtins.isString v then
      fail arg "'${v}' is not an absolute path; pass a path literal (./allow.filter) or an absolute path"
    else
      fail arg "expected a path, a string or null, got a ${typeOf v}";

  checkFilterType = filter: v:
    if v != null && filter == null then
      fail "proxyFilterType" "is set but tinyproxyFilter is null (the type says how to read the filter file)"
    else if v == null || builtins.elem v [ "bre" "ere" "fnmatch" ] then
      v
    else
      fail "proxyFilterType" "expected null, \"bre\", \"ere\" or \"fnmatch\", got ${builtins.toJSON v}";

  # A list whose every element is a string; `what` names the elements.
  checkStrings = arg: what: v:
    if !builtins.isList v then
      fail arg "expected a list of ${what}, got a ${typeOf v}"
    else
      builtins.genList (i:
        let e = builtins.elemAt v i; in
        if builtins.isString e then e
        else fail arg "element ${toString i} is a ${typeOf e}, expected a string") (builtins.length v);

  # Domain patterns: cellgen would reject these too, but only at build time
  # and without the Nix argument's name.
  checkPatterns = arg: v:
    map (p:
      if p == "" then fail arg "contains an empty pattern"
      else if builtins.match ".*[[:space:]].*" p != null then fail arg "pattern '${p}' contains whitespace"
      else p) (checkStrings arg "domain patterns" v);

  # The program the wrapper runs: what lib.getExe would pick, without lib.
  mainProgram = drv:
    drv.meta.mainProgram or drv.pname or (builtins.parseDrvName drv.name).name;

  checkCommand = pkgs: command:
    if !builtins.isFunction command then
      fail "command" "expected a function pkgs -> derivation, got a ${typeOf command}"
    else
      let drv = command pkgs; in
      if !(builtins.isAttrs drv && drv ? outPath) then
        fail "command" "the function must return a derivation, got a ${typeOf drv}"
      else if !(drv ? meta.mainProgram || drv ? pname || drv ? name) then
        fail "command" "cannot tell the derivation's main program; set meta.mainProgram"
      else
        { inherit drv; exe = mainProgram drv; };

  checkName = v:
    if !builtins.isString v then
      fail "name" "expected a string, got a ${typeOf v}"
    else if builtins.match "[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*" v == null then
      fail "name" "'${v}' is not a valid file name (letters, digits and + . _ ? = -)"
    else
      v;

  # Every unknown argument in one message, so a port is fixed in one try.
  checkKnown = args:
    let unknown = builtins.filter (n: !builtins.elem n known) (builtins.attrNames args); in
    if unknown == [ ] then
      args
    else
      throw ("mkCell: unknown argument${if builtins.length unknown > 1 then "s" else ""} "
        + builtins.concatStringsSep ", " (map (n: "'${n}'") unknown)
        + "; known: ${builtins.concatStringsSep ", " known}");

  checkRequired = args:
    let missing = builtins.filter (n: !(args ? ${n})) required; in
    if missing == [ ] then args
    else if builtins.length missing == 1 then fail (builtins.head missing) "is required"
    else throw "mkCell: arguments ${builtins.concatStringsSep ", " (map (n: "'${n}'") missing)}: are required";

  # An alias becomes its reference name; giving both is ambiguous.
  resolveAliases = args:
    builtins.foldl' (acc: alias:
      let target = aliases.${alias}; in
      if !(args ? ${alias}) then acc
      else if args ? ${target} then
        throw "mkCell: arguments '${alias}' and '${target}': the same setting given twice ('${alias}' is another name for '${target}')"
      else builtins.removeAttrs acc [ alias ] // { ${target} = args.${alias}; })
      args (builtins.attrNames aliases);

  profileText = pkgs: ''
    # mkCell's cell (nix/cell-args.nix): store paths only, no host lookups.
    base =
    nix-store =
    nix-daemon =
    proxy =
    log-dir =
    try-fwd-env = TERM
    symlink = ${pkgs.bash}/bin/sh /bin/sh
    symlink = ${pkgs.bash}/bin/bash /bin/bash
    symlink = ${pkgs.coreutils}/bin/env /usr/bin/env
    ro-bind = ${pkgs.cacert}/etc/ssl/certs /etc/ssl/certs
    set-env = SSL_CERT_FILE /etc/ssl/certs/ca-bundle.crt
    set-env = NIX_SSL_CERT_FILE /etc/ssl/certs/ca-bundle.crt
  '';

  opt = flag: value: if value == null then [ ] else [ flag value ];
  each = flag: values: builtins.concatMap (v: [ flag v ]) values;

  # The proxy's allowlist options, which a null filter must not override.
  proxyListFlags = [ "--allow" "--filter" "--allow-all" ];
  mentionsList = argv: builtins.any (a:
    builtins.elem a proxyListFlags
    || builtins.match "--(allow|filter|allow-all)=.*" a != null) argv;
in
userArgs:
let
  filterArg = if userArgs ? proxyFilter then "proxyFilter" else "tinyproxyFilter";
  args = defaults // resolveAliases (checkRequired (checkKnown userArgs));
  pkgs =
    let
      p = if builtins.isAttrs args.pkgs then args.pkgs
        else fail "pkgs" "expected a nixpkgs package set, got a ${typeOf args.pkgs}";
      missing = builtins.filter (n: !(p ? ${n})) [ "bubblewrap" "bash" "coreutils" "cacert" "writeText" ];
    in
    if missing == [ ] then p else fail "pkgs" "has no '${builtins.head missing}'";
  bwrap = "${pkgs.bubblewrap}/bin/bwrap";
  cmd = checkCommand pkgs args.command;
  program = "${cmd.drv}/bin/${cmd.exe}";
  name = if args.name == null then checkName "cell-${cmd.exe}" else checkName args.name;
  profile = profileText pkgs;
  filter = checkFilter filterArg args.tinyproxyFilter;
  allow = checkPatterns "allow" args.allow;
  fromCombinators = combinators.render args.extraCombinators;
  extra = checkStrings "extraArgs" "cellgen arguments" args.extraArgs;
  # The reference flake's tinyproxyFilter = null is "every domain allowed";
  # cellgen says that only when asked (--allow-all), so it is asked unless
  # something lists domains (allow, a filter, or the extra arguments).
  allowAll = filter == null && allow == [ ] && !mentionsList (fromCombinators ++ extra);
in
{
  inherit name program;
  command = cmd.drv;
  profileText = profile;
  argv =
    [ "--profile" "${pkgs.writeText "${name}-profile.ini" profile}" ]
    # bwrap from the same nixpkgs: the wrapper must not depend on the PATH.
    ++ [ "--bwrap-bin" bwrap ]
    ++ [ "--worktree" (checkHostPath "worktreePath" args.worktreePath) ]
    ++ [ "--nix-daemon-socket" (checkHostPath "nixDaemonSocket" args.nixDaemonSocket) ]
    ++ opt "--log-dir" (checkOptionalHostPath "logDir" args.logDir)
    ++ opt "--filter" filter
    ++ opt "--filter-type" (checkFilterType filter args.proxyFilterType)
    ++ (if allowAll then [ "--allow-all" ] else [ ])
    ++ each "--allow" allow
    ++ fromCombinators
    ++ extra
    ++ [ "--" program ];
}
