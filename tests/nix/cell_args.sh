#!/usr/bin/env bash
# nix/cell-args.nix against a stub pkgs: the exact cellgen command line for
# each combination of mkCell's arguments, and an error naming the argument
# for each bad one. Also shell-quote.nix's quoting, read back by a real bash.
set -uo pipefail
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SOURCE_ROOT/tests/lib/tap.sh"
source "$SOURCE_ROOT/tests/nix/nix_eval.sh"

# cell ATTRS: the expression for cell-args.nix applied to ATTRS + stub pkgs.
cell() {
    printf '(let pkgs = import ./tests/nix/stub-pkgs.nix { }; in import ./nix/cell-args.nix ({ inherit pkgs; command = pkgs: pkgs.hello; } // { %s }))' "$1"
}

bwrap=(--profile /stub/cell-hello-profile.ini --bwrap-bin /stub/bubblewrap/bin/bwrap)
sock=(--nix-daemon-socket /nix/var/nix/daemon-socket)
hello=(-- /stub/hello-2.12/bin/hello)

# --allow-all: cellgen's flag is being added on another branch (see
# nix/README.md); these assertions are on the rendered arguments only.
expect_json "defaults: worktree, daemon socket, every domain allowed" \
    "$(cell 'worktreePath = "/src/app";').argv" \
    "$(json_list "${bwrap[@]}" --worktree /src/app "${sock[@]}" --allow-all "${hello[@]}")"

expect_json "default name is cell-<main program>" \
    "$(cell 'worktreePath = "/src/app";').name" '"cell-hello"'

expect_json "filter + filter type + allow list + logDir, in that order" \
    "$(cell 'worktreePath = "/w"; logDir = "/var/log/agent";
             proxyFilter = "/nix/store/00000000000000000000000000000000-allow.filter";
             proxyFilterType = "ere"; allow = [ "api.example.com" "*.npmjs.org" "**.pypi.org" ];').argv" \
    "$(json_list "${bwrap[@]}" --worktree /w "${sock[@]}" --log-dir /var/log/agent \
        --filter /nix/store/00000000000000000000000000000000-allow.filter --filter-type ere \
        --allow api.example.com --allow '*.npmjs.org' --allow '**.pypi.org' "${hello[@]}")"

# A path literal is copied into the store so cellgen can read it while the
# wrapper is built in the sandbox; the expected value is the same copy.
expect_json "a path literal filter becomes its store copy" \
    "let a = $(cell 'worktreePath = "/w"; proxyFilter = ./examples/filters/allowlist.filter;'); in
     builtins.elemAt a.argv 9 == \"\${./examples/filters/allowlist.filter}\"
       && builtins.match \"/nix/store/[a-z0-9]{32}-allowlist.filter\" (builtins.elemAt a.argv 9) != null" \
    true

expect_json "extraArgs are appended verbatim, in order, after the cell options" \
    "$(cell 'worktreePath = "/w"; allow = [ "a.example" ];
             extraArgs = [ "--nix" "on" "--raw-arg=--cap-drop" "--raw-arg" "ALL" "--set-env" "EMPTY" "" "--allow" "z.example" ];').argv" \
    "$(json_list "${bwrap[@]}" --worktree /w "${sock[@]}" --allow a.example \
        --nix on --raw-arg=--cap-drop --raw-arg ALL --set-env EMPTY '' --allow z.example "${hello[@]}")"

expect_json "null filter, null logDir, empty allow: --allow-all, no --filter, --log-dir, --allow" \
    "$(cell 'worktreePath = "/w"; proxyFilter = null; logDir = null; allow = [ ];').argv" \
    "$(json_list "${bwrap[@]}" --worktree /w "${sock[@]}" --allow-all "${hello[@]}")"

expect_json "nixDaemonSocket and name are honoured" \
    "let c = $(cell 'worktreePath = "/w"; nixDaemonSocket = "/run/nix"; name = "my-agent";'); in [ c.name ] ++ c.argv" \
    "$(json_list my-agent --profile /stub/my-agent-profile.ini "${bwrap[@]:2}" --worktree /w --nix-daemon-socket /run/nix --allow-all "${hello[@]}")"

expect_json "mkCell's profile: the cell parts and store paths only, nothing looked up on the host" \
    "$(cell 'worktreePath = "/w";').profileText" \
    "\"# mkCell's cell (nix/cell-args.nix): store paths only, no host lookups.\\nbase =\\nnix-store =\\nnix-daemon =\\nproxy =\\nlog-dir =\\ntry-fwd-env = TERM\\nsymlink = /stub/bash/bin/sh /bin/sh\\nsymlink = /stub/bash/bin/bash /bin/bash\\nsymlink = /stub/coreutils/bin/env /usr/bin/env\\nro-bind = /stub/cacert/etc/ssl/certs /etc/ssl/certs\\nset-env = SSL_CERT_FILE /etc/ssl/certs/ca-bundle.crt\\nset-env = NIX_SSL_CERT_FILE /etc/ssl/certs/ca-bundle.crt\\n\""

expect_json "meta.mainProgram picks the program" \
    "$(cell 'worktreePath = "/w"; command = pkgs: pkgs.opencode;').program" \
    '"/stub/opencode-0.1/bin/opencode"'

expect_json "worktree with spaces and quotes stays one argument" \
    "builtins.elemAt $(cell "worktreePath = \"/src/it's a \\\$dir\";").argv 5" \
    '"/src/it'"'"'s a $dir"'

# --- errors name the argument at fault ---------------------------------------
e() { expect_error "$1" "$(cell "$2")" "$3"; }
e "missing worktreePath" '' "argument 'worktreePath': is required"
e "worktreePath as a path literal" 'worktreePath = ./.;' "argument 'worktreePath': expected an absolute host path as a string, got a path"
e "relative worktreePath" 'worktreePath = "src/app";' "argument 'worktreePath': 'src/app' is not absolute"
e "worktreePath with .." 'worktreePath = "/src/../etc";' "argument 'worktreePath': '/src/../etc' contains '..'"
e "worktreePath with a newline" 'worktreePath = "/a\nb";' "argument 'worktreePath': contains a newline"
e "worktreePath null" 'worktreePath = null;' "argument 'worktreePath': expected an absolute host path as a string, got a null"
e "relative logDir" 'worktreePath = "/w"; logDir = "logs";' "argument 'logDir': 'logs' is not absolute"
e "relative nixDaemonSocket" 'worktreePath = "/w"; nixDaemonSocket = "run/nix";' "argument 'nixDaemonSocket': 'run/nix' is not absolute"
e "relative proxyFilter string" 'worktreePath = "/w"; proxyFilter = "cell.filter";' "argument 'proxyFilter': 'cell.filter' is not an absolute path"
e "proxyFilter of the wrong type" 'worktreePath = "/w"; proxyFilter = 3;' "argument 'proxyFilter': expected a path, a string or null, got a int"
e "unknown proxyFilterType" 'worktreePath = "/w"; proxyFilter = ./flake.nix; proxyFilterType = "pcre";' "argument 'proxyFilterType': expected null"
e "proxyFilterType without proxyFilter" 'worktreePath = "/w"; proxyFilterType = "ere";' "argument 'proxyFilterType': is set but tinyproxyFilter is null"
e "allow as a string" 'worktreePath = "/w"; allow = "a.example";' "argument 'allow': expected a list of domain patterns, got a string"
e "allow with a non-string" 'worktreePath = "/w"; allow = [ "a.example" 42 ];' "argument 'allow': element 1 is a int"
e "allow with an empty pattern" 'worktreePath = "/w"; allow = [ "" ];' "argument 'allow': contains an empty pattern"
e "allow with whitespace" 'worktreePath = "/w"; allow = [ "a.example b.example" ];' "argument 'allow': pattern 'a.example b.example' contains whitespace"
e "extraArgs as a string" 'worktreePath = "/w"; extraArgs = "--nix on";' "argument 'extraArgs': expected a list of cellgen arguments, got a string"
e "extraArgs with a non-string" 'worktreePath = "/w"; extraArgs = [ "--proxy-port" 8080 ];' "argument 'extraArgs': element 1 is a int"
e "name with a slash" 'worktreePath = "/w"; name = "bin/agent";' "argument 'name': 'bin/agent' is not a valid file name"
e "command not a function" 'worktreePath = "/w"; command = pkgs.hello;' "argument 'command': expected a function pkgs -> derivation, got a set"
e "command returning a string" 'worktreePath = "/w"; command = pkgs: "hello";' "argument 'command': the function must return a derivation, got a string"
e "pkgs without cacert" 'worktreePath = "/w"; pkgs = builtins.removeAttrs (import ./tests/nix/stub-pkgs.nix { }) [ "cacert" ];' "argument 'pkgs': has no 'cacert'"
e "pkgs not a package set" 'worktreePath = "/w"; pkgs = "nixpkgs";' "argument 'pkgs': expected a nixpkgs package set, got a string"
e "a typo is named" 'worktreePath = "/w"; alow = [ ];' "unknown argument 'alow'"
e "every unknown argument in one message" 'worktreePath = "/w"; alow = [ ]; extraCombinator = _: [ ]; tinyProxyFilter = null;' \
    "unknown arguments 'alow', 'extraCombinator', 'tinyProxyFilter'; known: pkgs, command, worktreePath"
e "an alias and its reference name together" 'worktreePath = "/w"; proxyFilter = null; tinyproxyFilter = null;' \
    "arguments 'proxyFilter' and 'tinyproxyFilter': the same setting given twice"
expect_error "missing command and worktreePath, together" \
    '(import ./nix/cell-args.nix { pkgs = import ./tests/nix/stub-pkgs.nix { }; })' "arguments 'command', 'worktreePath': are required"

# --- shell-quote.nix: quoting survives a real bash ---------------------------------
odd=("plain" "two words" "it's" 'a "quote"' '$HOME and `cmd`' $'new\nline' 'back\slash' 'ünïcødé' '' '*' '--')
quoted=$(nix_eval "(import ./nix/shell-quote.nix).quoteArgs (builtins.fromJSON ''$(json_list "${odd[@]}")'')" |
    python3 -c 'import json, sys; print(json.load(sys.stdin))')
mapfile -d '' -t back < <(bash -c "printf '%s\\0' $quoted")
readback=$(json_list "${back[@]}")
expect_eq "quoteArgs: bash reads back the same arguments" "$(json_list "${odd[@]}")" "$readback"

tap_done
