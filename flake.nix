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

      # The Nix tests (tests/nix, suite `nix`) that need only nix-instantiate
      # and a stub nixpkgs: pure evaluation, no network, no namespaces.
      nixEvalTests = [ "parse" "cell_args" "mk_cell" "flake" "original" ];
      # What those tests read: not the C++ sources, so the check is not
      # rerun for a change there.
      nixTestSource = builtins.path {
        name = "unsafe-cell-nix-tests";
        path = ./.;
        filter = path: _type:
          let rel = builtins.substring (builtins.stringLength (toString ./.) + 1) (-1) (toString path); in
          builtins.elem (builtins.head (builtins.split "/" rel))
            [ "flake.nix" "default.nix" "nix" "tests" "examples" "completions" ];
      };

      # relay and proxy are installed off PATH (libexec/unsafe-cell): their
      # names are too generic for bin/.
      app = pkg: program: description: {
        type = "app";
        program =
          if builtins.elem program [ "relay" "proxy" ]
          then "${pkg}/libexec/unsafe-cell/${program}"
          else "${pkg}/bin/${program}";
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

      # `nix develop`: the build and test tools (meson, ninja, the libraries,
      # bwrap, nix-instantiate for the Nix tests, clang-format).
      devShells = forAllSystems (system:
        let pkgs = nixpkgs.legacyPackages.${system}; in
        {
          default = pkgs.mkShell {
            inputsFrom = [ self.packages.${system}.default ];
            packages = [ pkgs.bubblewrap pkgs.nix pkgs.python3 pkgs.clang-tools pkgs.nixfmt-rfc-style ];
          };
        });

      formatter = forAllSystems (system: nixpkgs.legacyPackages.${system}.nixfmt-rfc-style);

      # `nix flake check` builds the programs (their own tests need namespaces
      # and a nix daemon, so they run in .ci/run, not in the build sandbox)
      # and runs the pure-evaluation Nix tests against the stub nixpkgs.
      checks = forAllSystems (system:
        let pkgs = nixpkgs.legacyPackages.${system}; in
        {
          package = self.packages.${system}.default;
          nix-eval = pkgs.runCommand "unsafe-cell-nix-eval-tests"
            { nativeBuildInputs = [ pkgs.nix pkgs.bash pkgs.python3 ]; }
            ''
              export SOURCE_ROOT=${nixTestSource}
              for t in ${builtins.concatStringsSep " " nixEvalTests}; do
                bash "$SOURCE_ROOT/tests/nix/$t.sh" | tee -a "$out"
                test "''${PIPESTATUS[0]}" = 0
              done
            '';
        });

      lib = {
        # mkCell { command; worktreePath; ... } -> derivation with bin/<name>,
        # called as the reference flake's mkCell was. The programs are built
        # from `pkgs`: the caller's when given (a cell then follows whatever
        # nixpkgs the caller pins), else this flake's nixpkgs for `system`
        # (default: the current system, which only impure evaluation knows).
        # See nix/README.md.
        mkCell = args:
          let
            system = args.system or (if builtins ? currentSystem then builtins.currentSystem else null);
            pkgs =
              if args ? pkgs then args.pkgs
              else if system != null then nixpkgs.legacyPackages.${system}
              else throw "mkCell: argument 'pkgs': is required in pure evaluation (no current system); pass pkgs, or system = \"x86_64-linux\"";
          in
          import ./nix/mk-cell.nix { } (builtins.removeAttrs args [ "system" ] // { inherit pkgs; });
      };

      overlays.default = final: _prev: {
        unsafe-cell = packageFor final;
      };
    };
}
