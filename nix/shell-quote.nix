# Shell quoting without nixpkgs' lib, so every file under nix/ evaluates
# against a plain stub `pkgs` in the tests. Single quotes keep every byte
# literal; an embedded ' becomes '\'' (close, escaped quote, reopen).
rec {
  quote = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # One space-separated, fully quoted command line from a list of strings.
  quoteArgs = args: builtins.concatStringsSep " " (map quote args);
}
