# The combinator set mkCell's `extraCombinators` receives:
#
#   extraCombinators = c: [ (c.ro-bind "/etc/x" "/etc/x") (c.unsafe-add-raw-args "--cap-drop ALL") ];
#
# One Nix function per cellgen combinator, generated from combinators.json,
# which is `cellgen --help` read by tools/nix_combinators.py (the test
# nix-combinators fails when the two differ). Each renders to cellgen
# arguments; nothing here runs a shell, so values are never shell-parsed.
# jail.nix's names for the same things are aliases (rw-bind, try-rw-bind,
# unsafe-add-raw-args, readonly, ...).
#
# Calling conventions, from each combinator's signature:
#   no arguments        a value:                 c.nix-store
#   SRC [DEST]          curried, optional last:  c.ro-bind "/a"  or  c.ro-bind "/a" "/b"
#   [PATH]              a value, or applied:     c.log-dir  or  c.log-dir "/var/log/x"
#   ARGS...             curried, any number:     c.raw-args "--unshare-all" ...
# A combinator value is an attrset { _type = "unsafe-cell-combinator"; name;
# args; argv; } (with __functor while it can take more arguments).
#
# Pure: no nixpkgs lib, so the tests evaluate it with Debian's nix-instantiate.
let
  table = builtins.fromJSON (builtins.readFile ./combinators.json);
  param = "extraCombinators";
  fail = msg: throw "mkCell: argument '${param}': ${msg}";

  isDash = s: builtins.substring 0 1 s == "-";

  # An argument: a string; a path (copied into the store, like any Nix path
  # interpolated into a command) or a derivation, as its store path.
  arg = name: i: v:
    if builtins.isString v then v
    else if builtins.isPath v then "${v}"
    else if builtins.isAttrs v && v ? outPath then "${v}"
    else fail "${name}: argument ${toString (i + 1)} is a ${builtins.typeOf v}, expected a string";

  # The cellgen arguments of one invocation. A lone value that starts with
  # '-' is written --NAME=VALUE (cellgen's parser would take it for a flag);
  # with several values that cannot be said, so it is refused.
  render = name: args:
    if args == [ ] then [ "--${name}" ]
    else if builtins.length args == 1 && isDash (builtins.head args) then [ "--${name}=${builtins.head args}" ]
    else if builtins.any isDash args then
      fail "${name}: a value starting with '-' (${builtins.toJSON (builtins.head (builtins.filter isDash args))}) can only be given alone; for bwrap arguments use unsafe-add-raw-args"
    else [ "--${name}" ] ++ args;

  value = name: args: {
    _type = "unsafe-cell-combinator";
    inherit name args;
    argv = render name args;
  };

  # A combinator that has `args` and takes between `min` and `max` (-1: any
  # number) in all: a function until it has `min`, then a value that is
  # still a function while it can take more.
  combinator = c: args:
    let
      n = builtins.length args;
      more = v: combinator c (args ++ [ (arg c.name n v) ]);
    in
    if n < c.min then more
    else if c.max >= 0 && n >= c.max then value c.name args
    else value c.name args // { __functor = _self: more; };

  generated = builtins.listToAttrs (map (c: { inherit (c) name; value = combinator c [ ]; }) table);

  # Several cellgen invocations as one element of the list.
  group = name: parts: {
    _type = "unsafe-cell-combinator";
    inherit name;
    args = builtins.concatMap (p: p.args) parts;
    argv = builtins.concatMap (p: p.argv) parts;
  };

  # jail.nix's unsafe-add-raw-args takes a string of bwrap arguments; here it
  # is split at whitespace (no shell: quotes are not interpreted) or given
  # as a list, and each becomes one --raw-arg.
  rawArgs = v:
    let
      words =
        if builtins.isString v then builtins.filter (w: builtins.isString w && w != "") (builtins.split "[[:space:]]+" v)
        else if builtins.isList v then builtins.genList (i: arg "unsafe-add-raw-args" i (builtins.elemAt v i)) (builtins.length v)
        else fail "unsafe-add-raw-args: expected a string of bwrap arguments or a list of them, got a ${builtins.typeOf v}";
    in
    if words == [ ] then fail "unsafe-add-raw-args: no bwrap arguments given"
    else group "unsafe-add-raw-args" (map (w: generated.raw-arg w) words);

  # jail.nix names. Every target is a cellgen combinator (checked by the tests).
  aliases = {
    rw-bind = "bind";
    try-rw-bind = "try-bind";
  };
  aliased = builtins.mapAttrs (_: target: generated.${target}) aliases;

  # jail.nix's one-path forms: the same path on both sides.
  samePath = target: path: generated.${target} path path;

  extras = {
    unsafe-add-raw-args = rawArgs;
    readonly = samePath "ro-bind";
    readwrite = samePath "bind";
    try-readonly = samePath "try-ro-bind";
    try-readwrite = samePath "try-bind";
    # jail.nix's add-pkg-deps: each package's bin on PATH.
    add-pkg-deps = pkgs:
      if builtins.isList pkgs then group "add-pkg-deps" (map (p: generated.add-path "${p}/bin") pkgs)
      else fail "add-pkg-deps: expected a list of packages, got a ${builtins.typeOf pkgs}";
  };

  set = generated // aliased // extras;
in
{
  inherit table aliases;
  combinators = set;
  names = builtins.attrNames set;

  # extraCombinators -> cellgen arguments, every element checked.
  # An unknown name (c.ro-bnid) is a missing attribute, which Nix reports
  # itself ("attribute 'ro-bnid' missing ... Did you mean ro-bind?"); the
  # context below names the parameter and the available combinators in the
  # trace (--show-trace).
  render = f:
    if !builtins.isFunction f then
      fail "expected a function from the combinator set to a list (c: [ (c.ro-bind \"/etc/x\" \"/etc/x\") ]), got a ${builtins.typeOf f}"
    else
      let
        available = builtins.concatStringsSep ", " (builtins.attrNames set);
        context = builtins.addErrorContext
          "while evaluating mkCell's argument '${param}' (available combinators: ${available})";
        result = context (f set);
        flatten = v: if builtins.isList v then builtins.concatMap flatten v else [ v ];
        check = i: e:
          if builtins.isAttrs e && (e._type or null) == "unsafe-cell-combinator" then e.argv
          else if builtins.isFunction e || (builtins.isAttrs e && e ? __functor) then
            fail "element ${toString i} is a combinator that needs more arguments"
          else
            fail "element ${toString i} is a ${builtins.typeOf e}, expected a combinator from the set (c.ro-bind ...; available: ${available}); plain cellgen arguments go in extraArgs";
      in
      if !builtins.isList result then
        fail "the function must return a list of combinators, got a ${builtins.typeOf result}"
      else
        let items = flatten result; in
        context (builtins.concatLists (builtins.genList (i: check i (builtins.elemAt items i)) (builtins.length items)));
}
