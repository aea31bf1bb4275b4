{
  description = "unsafe-cell: run a trusted but fallible program in a bubblewrap cell";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  # Written without nixpkgs' lib so the tests can evaluate `outputs` against
  # stub inputs with a plain nix-instantiate (tests/nix/).
  outputs = { self, nixpkgs }:
    let
      # bwrap and Linux namespaces: Linux only.
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: builtins.listToAttrs
        (map (system: { name = system; value = f system; }) systems);

      packageFor = pkgs: pkgs.callPackage ./nix/package.nix { };

      app = pkg: program: {
        type = "app";
        program = "${pkg}/bin/${program}";
      };
    in
    {
      packages = forAllSystems (system:
        let pkg = packageFor nixpkgs.legacyPackages.${system}; in
        {
          default = pkg;
          unsafe-cell = pkg;
        });

      apps = forAllSystems (system:
        let pkg = self.packages.${system}.default; in
        {
          default = app pkg "cell";
          cell = app pkg "cell";
          cellgen = app pkg "cellgen";
          relay = app pkg "relay";
          proxy = app pkg "proxy";
        });

      lib = {
        # mkCell { pkgs; command; worktreePath; ... } -> derivation with
        # bin/<name>. The programs are built from the caller's `pkgs`, so a
        # cell follows whatever nixpkgs the caller pins. See nix/README.md.
        mkCell = args: import ./nix/mk-cell.nix { } args;
      };

      overlays.default = final: _prev: {
        unsafe-cell = packageFor final;
      };
    };
}
