# mkCell: a derivation whose bin/<name> is a standalone wrapper script for one
# cell, rendered at build time by `cellgen --print script`.
#
#   mkCell = import ./nix/mk-cell.nix { package = <unsafe-cell or null>; };
#   mkCell { pkgs; command = pkgs: pkgs.opencode; worktreePath = "/src/app"; ... }
#
# All argument checking and the cellgen command line live in cell-args.nix
# (pure, tested without nixpkgs); this file only builds.
{ package ? null }:
userArgs:
let
  shell = import ./shell-quote.nix;
  plan = import ./cell-args.nix userArgs;
  pkgs = userArgs.pkgs;

  # The programs the wrapper runs: an explicit `package` argument, else the
  # flake's own build, else one built from this source with the caller's pkgs.
  unsafeCell =
    if (userArgs.package or null) != null then userArgs.package
    else if package != null then package
    else pkgs.callPackage ./package.nix { };

  # Basic tools on the wrapper's PATH, so it does not depend on what the host
  # has there (cell-launch itself runs no command by PATH). The jail's PATH
  # is set by cellgen, not inherited.
  launcherPath = builtins.concatStringsSep ":"
    (map (p: "${p}/bin") [ pkgs.coreutils pkgs.gnused pkgs.gnugrep pkgs.gawk ]);

in
pkgs.runCommand plan.name
{
  # A few kilobytes of text: building is cheaper than a cache lookup.
  preferLocalBuild = true;
  allowSubstitutes = false;
  passthru = {
    # What the wrapper was rendered from; handy in `nix repl` and in tests.
    cellgenArgs = plan.argv;
    inherit (plan) command program profileText;
    unsafe-cell = unsafeCell;
  };
  meta = {
    description = "${plan.program} in an unsafe-cell";
    mainProgram = plan.name;
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}
''
  mkdir -p "$out/bin"
  ${shell.quote "${unsafeCell}/bin/cellgen"} --print script ${shell.quoteArgs plan.argv} > rendered
  # Our shebang and PATH first; the rendered script's own shebang line goes.
  {
    printf '%s\n' ${shell.quote "#!${pkgs.runtimeShell}"}
    printf '%s\n' ${shell.quote "export PATH=${launcherPath}\${PATH:+:\$PATH}"}
    sed '1{/^#!/d}' rendered
  } > "$out/bin/"${shell.quote plan.name}
  chmod 0555 "$out/bin/"${shell.quote plan.name}
''
