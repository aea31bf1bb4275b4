# Two cells built with unsafe-cell's mkCell:
#
#   nix build .#agent && ./result/bin/agent     opencode in a cell
#   nix run .#ci                                 a CI job in a cell
#
# Copy this directory, then point the unsafe-cell input at wherever you get
# unsafe-cell from (a git URL, github:OWNER/unsafe-cell, a local path) and set
# the worktree paths to yours. Host paths are strings: they are baked into the
# wrapper as they are and bound when the cell starts, never copied to the store.
{
  description = "An AI coding agent and a CI job, each in an unsafe-cell";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    # This repository's root; needs a Nix that accepts relative path inputs.
    unsafe-cell.url = "path:../..";
    unsafe-cell.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs = { self, nixpkgs, unsafe-cell }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
      inherit (unsafe-cell.lib) mkCell;
    in
    {
      packages.${system} = {
        # An AI coding agent: its model API and the package registries it
        # installs from, nothing else. Logs outside the worktree, so the agent
        # cannot edit the record of what it did. The cell holds the nix store,
        # not the host's /usr: the agent gets the tools it runs on PATH here.
        agent = mkCell {
          inherit pkgs;
          name = "agent";
          command = pkgs: pkgs.writeShellApplication {
            name = "opencode-with-tools";
            runtimeInputs = with pkgs; [ opencode git ripgrep coreutils findutils gnugrep gnused ];
            text = ''exec opencode "$@"'';
          };
          worktreePath = "/home/me/src/project";
          logDir = "/home/me/.local/state/agent-cell";
          allow = [
            "api.anthropic.com"
            "api.openai.com"
            "registry.npmjs.org"
            "pypi.org"
            "files.pythonhosted.org"
          ];
        };

        # A CI job: git and nix from the host store and daemon, the network
        # limited by an anchored ERE filter file (copied into the store so the
        # wrapper can be rendered in the build sandbox). `--nix on` makes a
        # missing daemon an error instead of a warning: this job needs it.
        ci = mkCell {
          inherit pkgs;
          name = "ci";
          command = pkgs: pkgs.writeShellApplication {
            name = "ci-job";
            runtimeInputs = [ pkgs.git pkgs.nix ];
            text = ''
              git log -1 --oneline
              nix build --print-build-logs .#checks.${system}.default
            '';
          };
          worktreePath = "/var/lib/ci/checkout";
          tinyproxyFilter = ./ci.filter;
          proxyFilterType = "ere";
          extraArgs = [ "--nix" "on" ];
        };
      };

      apps.${system} = {
        agent = { type = "app"; program = "${self.packages.${system}.agent}/bin/agent"; };
        ci = { type = "app"; program = "${self.packages.${system}.ci}/bin/ci"; };
      };
    };
}
