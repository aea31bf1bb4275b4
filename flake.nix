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

      app = pkg: program: description: {
        type = "app";
        program = "${pkg}/bin/${program}";
        meta.description = description;
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
          default = self.apps.${system}.cell;
          cell = app pkg "cell" "run a command in a cell";
          cellgen = app pkg "cellgen" "render a cell's bwrap argv and plan";
          relay = app pkg "relay" "Unix/TCP byte relay with proper half-close";
          proxy = app pkg "proxy" "HTTP(S) proxy with a tinyproxy-compatible domain filter";
        });

      # `nix flake check` builds the programs (their tests need namespaces and a
      # nix daemon, so they run in .ci/run, not in the build sandbox).
      checks = forAllSystems (system: {
        package = self.packages.${system}.default;
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
