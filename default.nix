# For users without flakes:
#   nix-build -A unsafe-cell
#   let uc = import ./path/to/unsafe-cell { inherit pkgs; };
#   in uc.mkCell { command = pkgs: pkgs.hello; worktreePath = "/src/app"; }
{ pkgs ? import <nixpkgs> { } }:
let
  unsafe-cell = pkgs.callPackage ./nix/package.nix { };
in
{
  inherit unsafe-cell;
  # mkCell builds its programs from `pkgs`: the one given to mkCell, else
  # this file's, exactly like the flake's lib.mkCell.
  mkCell = args: import ./nix/mk-cell.nix { } ({ inherit pkgs; } // args);
}
