#!/usr/bin/env bash
# completions/unsafe-cell.bash: its option tables are exactly the options
# `cellgen --help` lists, and completing real command lines gives the
# expected candidates (values of --nix/--print, host paths, doctor, the
# command after --).
set -uo pipefail
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SOURCE_ROOT/tests/lib/tap.sh"
source "$SOURCE_ROOT/completions/unsafe-cell.bash"
T=$(mktemp -d)
trap 'rm -rf -- "$T"' EXIT

# comp WORD... : candidates for the last WORD, sorted, space-separated.
comp() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    "_$1"
    printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

check "both commands are registered" bash -c \
    'source "$1"; complete -p cell | grep -q "_cell cell" && complete -p cellgen | grep -q "_cellgen cellgen"' \
    _ "$SOURCE_ROOT/completions/unsafe-cell.bash"

if [[ -n ${CELLGEN:-} && -x ${CELLGEN:-} ]]; then
    help_opts=$("$CELLGEN" --help | grep -oE '^  (-[a-z0-9] \[ )?--[a-z0-9-]+' | sed 's/.*--/--/' | sort -u | tr '\n' ' ')
    ours=$(_unsafe_cell_all_opts | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ')
    expect_eq "the completion knows exactly cellgen --help's options" "$help_opts" "$ours"
else
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - option list against cellgen --help # SKIP cellgen is not built"
fi
expect_eq "no option is in two tables" "" \
    "$(_unsafe_cell_all_opts | tr ' ' '\n' | grep . | sort | uniq -d | tr '\n' ' ')"

expect_eq "cell --nix <TAB>" "auto off on" "$(comp cell --nix '')"
expect_eq "cell --nix o<TAB>" "off on" "$(comp cell --worktree . --nix o)"
expect_eq "cellgen --print <TAB>" "argv json plan script shell" "$(comp cellgen --print '')"
expect_eq "cellgen --print=j<TAB>" "json" "$(comp cellgen --print=j)"
expect_eq "cellgen --print = j<TAB> (= is a word break)" "json" "$(comp cellgen --print = j)"
expect_eq "cellgen --filter-type <TAB>" "bre ere fnmatch" "$(comp cellgen --filter-type '')"
expect_eq "cellgen --share-ns u<TAB>" "user uts" "$(comp cellgen --share-ns u)"
expect_eq "cell --allow-c<TAB>" "--allow-cidr" "$(comp cell --allow-c)"
expect_eq "cell --no-<TAB>" "--no-die-with-parent --no-new-session" "$(comp cell --no-)"
expect_eq "cell d<TAB> offers doctor" "doctor" "$(comp cell d)"
expect_eq "cell doctor <TAB>" "--nix-daemon-socket" "$(comp cell doctor '')"

mkdir -p "$T/work tree" "$T/workshop" "$T/logs"
touch "$T/wprofile.ini" "$T/allow.filter"
expect_eq "cell --worktree offers directories only" "$T/work tree $T/workshop" "$(comp cell --worktree "$T/w")"
expect_eq "cell --log-dir offers directories" "$T/logs" "$(comp cell --log-dir "$T/l")"
expect_eq "cell --profile offers files" "$T/work tree $T/workshop $T/wprofile.ini" "$(comp cell --profile "$T/w")"
expect_eq "cellgen --filter offers files" "$T/allow.filter" "$(comp cellgen --filter "$T/a")"
expect_eq "cellgen --ro-bind SRC offers host files" "$T/allow.filter" "$(comp cellgen --ro-bind "$T/a")"
expect_eq "cellgen --set-env NAME VALUE offers nothing for VALUE" "" "$(comp cellgen --set-env FOO '')"
expect_eq "cell --allow takes a pattern, not a file" "" "$(comp cell --allow "$T/")"
expect_eq "cellgen --fwd-env offers environment names" "CELLTEST_ONLY_NAME" \
    "$(CELLTEST_ONLY_NAME=1; export CELLTEST_ONLY_NAME; comp cellgen --fwd-env CELLTEST_ONLY)"
expect_eq "cellgen --nix-daemon may be followed by an option" "--nix-daemon-socket" \
    "$(comp cellgen --nix-daemon --nix-daemon-s)"
expect_eq "after --, a command" "bash" "$(comp cell --worktree . -- bas | tr ' ' '\n' | grep -x bash)"
expect_eq "after -- COMMAND, files" "$T/allow.filter" "$(comp cell -- cat "$T/a")"
tap_done
