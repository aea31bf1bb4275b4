#!/usr/bin/env bash
# relay(1) and proxy(1) say what `relay --help` and `proxy --help` say:
# - the long options of --help and the entries of the doc's OPTIONS section
#   are the same set (differences reported by name, in each direction), each
#   with the same argument name (or none), and every short alias of --help
#   (-h, -q) is in the doc's entry for its long option;
# - the doc has the man-page sections NAME ... SEE ALSO, in that order, none
#   of them empty;
# - the EXIT STATUS table gives the codes the program really returns: for a
#   usage error (an unknown option), for a LISTEN that cannot be opened, and
#   for a stop by SIGTERM (and, for relay, for a --background COMMAND that
#   cannot be executed);
# - --help exits 0 with the usage line; --version, where the program has it,
#   exits 0 too.
# An OPTIONS entry is a line that starts (after an optional `- ` list marker)
# with code spans naming the option: "- `--ready-fd N` ..." or
# "`-q`, `--quiet` — ...". A mention inside a description does not count.
set -uo pipefail
export LC_ALL=C # sort and comm agree on one order
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SOURCE_ROOT/tests/lib/tap.sh"

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

# skip NAME REASON: a TAP test point that was not run.
skip() {
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - $1 # SKIP $2"
}

lines() { printf '%s\n' "$1" | sed '/^$/d' | tr '\n' ' ' | sed 's/ $//'; }
# The lines of "--name ARG" LINES whose name is one of NAMES.
with_names() {
    awk 'NR == FNR { if ($0 != "") keep[$0] = 1; next } ($1 in keep)' \
        <(printf '%s\n' "$2") <(printf '%s\n' "$1")
}
only_in_first() { comm -23 <(printf '%s\n' "$1") <(printf '%s\n' "$2") | sed '/^$/d'; }

# Section NAME of a markdown man page, without its heading.
section() {
    awk -v want="## $2" '$0 == want { on = 1; next } on && /^## / { exit } on' "$1"
}

# "--name ARG" per option of `PROG --help` (boost's layout: two spaces, an
# optional "-x [ " alias, the long name, a space and an upper-case argument,
# which may name literal alternatives after a bar: "N|auto").
help_options() {
    grep -oE '^  (-[a-zA-Z0-9] \[ )?--[a-z0-9-]+( [A-Z][][A-Z0-9_=:]*(\|[a-z][a-z0-9-]*)*)?' <<<"$1" |
        sed -E 's/^ *(-[a-zA-Z0-9] \[ )?//' | sort -u
}
# "-x --name" per short alias in --help.
help_aliases() {
    grep -oE '^  -[a-zA-Z0-9] \[ --[a-z0-9-]+' <<<"$1" | sed -E 's/^ *//; s/ \[//' | sort -u
}
# The leading code spans of each OPTIONS entry: "`-q`, `--quiet`".
doc_entry_heads() {
    section "$1" OPTIONS | grep -oE '^(- )?(`[^`]+`(, | or )?)+' | sed -E 's/^- //'
}
# "--name ARG" per option the doc's OPTIONS entries define.
doc_options() {
    doc_entry_heads "$1" | grep -oE '`--[a-z0-9-]+( [^`]*)?`' | tr -d '`' | sort -u
}
doc_aliases() {
    doc_entry_heads "$1" | sed -nE 's/^`(-[a-zA-Z0-9])`(, | or )`(--[a-z0-9-]+)`.*/\1 \3/p' | sort -u
}
# The code in the EXIT STATUS table row whose meaning matches REGEX.
doc_status() {
    section "$1" "EXIT STATUS" | grep -E '^\| *`?[0-9]+`? *\|' | grep -iE "$2" |
        head -n1 | cut -d'|' -f2 | tr -d ' `'
}

# wait_ready FILE: until the program wrote "ready" to its --ready-fd (5 s).
wait_ready() {
    local i
    for ((i = 0; i < 100; i++)); do
        [[ $(cat "$1" 2>/dev/null) == ready ]] && return 0
        sleep 0.05
    done
    return 1
}

# check_doc PROG BINARY: everything above, for one program.
check_doc() {
    local prog=$1 bin=$2 doc=$SOURCE_ROOT/docs/$1.md
    local help rc
    help=$("$bin" --help 2>"$tmp/help.err")
    rc=$?
    expect_eq "$prog --help exits 0" 0 "$rc"
    expect_eq "$prog --help starts with its usage line" "usage: $prog" "$(head -c $((${#prog} + 7)) <<<"$help")"

    local h_opts d_opts h_names d_names
    h_opts=$(help_options "$help")
    d_opts=$(doc_options "$doc")
    h_names=$(sed 's/ .*//' <<<"$h_opts" | sort -u)
    d_names=$(sed 's/ .*//' <<<"$d_opts" | sort -u)
    check "$prog --help lists options (found $(wc -l <<<"$h_names"))" test "$(wc -l <<<"$h_names")" -ge 5
    expect_eq "$prog: options in --help but missing from docs/$prog.md OPTIONS" "" \
        "$(lines "$(only_in_first "$h_names" "$d_names")")"
    expect_eq "$prog: options in docs/$prog.md OPTIONS that --help does not have" "" \
        "$(lines "$(only_in_first "$d_names" "$h_names")")"
    # Same argument, for the options both sides have: "--help has X, doc has Y".
    local both h_both d_both
    both=$(comm -12 <(printf '%s\n' "$h_names") <(printf '%s\n' "$d_names"))
    h_both=$(with_names "$h_opts" "$both")
    d_both=$(with_names "$d_opts" "$both")
    expect_eq "$prog: --help and docs/$prog.md give each option the same argument" "" \
        "$(lines "$(only_in_first "$h_both" "$d_both" | sed 's/^/help:/'
            only_in_first "$d_both" "$h_both" | sed 's/^/doc:/')")"
    expect_eq "$prog: short aliases of --help are in docs/$prog.md's entries" "" \
        "$(lines "$(only_in_first "$(help_aliases "$help")" "$(doc_aliases "$doc")")")"

    # Sections: all there, in man-page order, none empty.
    local s found=() missing=() empty=()
    local required=(NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" FILES EXAMPLES "SEE ALSO")
    for s in "${required[@]}"; do
        if ! grep -qx "## $s" "$doc"; then
            missing+=("$s")
        elif [[ -z $(section "$doc" "$s" | tr -d '[:space:]') ]]; then
            empty+=("$s")
        fi
    done
    expect_eq "$prog: docs/$prog.md has the sections ${required[*]}" "" "${missing[*]}"
    expect_eq "$prog: no section of docs/$prog.md is empty" "" "${empty[*]}"
    mapfile -t found < <(grep -E '^## ' "$doc" | sed 's/^## //' |
        grep -xF -f <(printf '%s\n' "${required[@]}"))
    expect_eq "$prog: docs/$prog.md's sections are in man-page order" \
        "$(lines "$(printf '%s\n' "${required[@]}" | grep -xF -f <(printf '%s\n' "${found[@]}"))")" \
        "$(lines "$(printf '%s\n' "${found[@]}")")"

    # EXIT STATUS against the real program.
    local want err
    want=$(doc_status "$doc" 'usage')
    "$bin" --no-such-option >"$tmp/out" 2>"$tmp/err"
    rc=$?
    expect_eq "$prog: the EXIT STATUS for a usage error is what --no-such-option returns" "$rc" "$want"
    err=$(cat "$tmp/err")
    expect_eq "$prog: a usage error is one '$prog: ...' line naming the option" "1 yes" \
        "$(wc -l <"$tmp/err") $([[ $err == "$prog: "*--no-such-option* ]] && echo yes)"
}

# start_failure PROG BINARY ARGS...: a LISTEN path that is a regular file.
start_failure() {
    local prog=$1 bin=$2 want rc
    shift 2
    want=$(doc_status "$SOURCE_ROOT/docs/$prog.md" 'listen[a-z]* cannot be opened')
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    expect_eq "$prog: the EXIT STATUS for a LISTEN that cannot be opened is what it returns" "$rc" "$want"
}

# term_stop PROG BINARY ARGS...: the status after SIGTERM once it is ready.
term_stop() {
    local prog=$1 bin=$2 want rc pid
    shift 2
    want=$(doc_status "$SOURCE_ROOT/docs/$prog.md" 'SIGTERM')
    rm -f "$tmp/ready"
    "$bin" --ready-fd 3 "$@" 3>"$tmp/ready" 2>"$tmp/err" &
    pid=$!
    if wait_ready "$tmp/ready"; then
        kill -TERM "$pid"
    else
        kill -KILL "$pid"
    fi
    wait "$pid"
    rc=$?
    expect_eq "$prog: the EXIT STATUS for a stop by SIGTERM is what it returns" "$rc" "$want"
}

# version PROG BINARY: only when --help offers it.
version() {
    local prog=$1 bin=$2 out rc
    if ! "$bin" --help | grep -qE '^  (-[a-zA-Z] \[ )?--version'; then
        skip "$prog --version exits 0" "$prog has no --version"
        return
    fi
    out=$("$bin" --version)
    rc=$?
    expect_eq "$prog --version exits 0 and prints something" "0 yes" "$rc $([[ -n $out ]] && echo yes)"
}

touch "$tmp/not-a-socket"

if [[ -n ${RELAY:-} && -x ${RELAY:-} ]]; then
    check_doc relay "$RELAY"
    version relay "$RELAY"
    start_failure relay "$RELAY" "unix:$tmp/not-a-socket" "unix:$tmp/target"
    term_stop relay "$RELAY" "unix:$tmp/relay.sock" "unix:$tmp/target"
    # --background with a COMMAND that does not exist: the caller's exec
    # fails; the daemon stops when its lifeline (a pipe to `sleep`) ends.
    want=$(doc_status "$SOURCE_ROOT/docs/relay.md" 'executed')
    "$RELAY" --background --lifeline-fd 4 "unix:$tmp/bg.sock" "unix:$tmp/target" \
        -- "$tmp/no-such-command" 4< <(exec sleep 1 2>/dev/null) >"$tmp/out" 2>"$tmp/err"
    rc=$?
    expect_eq "relay: the EXIT STATUS for a --background COMMAND that cannot be executed is what it returns" \
        "$rc" "$want"
else
    skip "relay(1) against relay --help" "relay is not built"
fi

if [[ -n ${PROXY:-} && -x ${PROXY:-} ]]; then
    check_doc proxy "$PROXY"
    version proxy "$PROXY"
    start_failure proxy "$PROXY" --listen "unix:$tmp/not-a-socket"
    term_stop proxy "$PROXY" --listen "unix:$tmp/proxy.sock"
else
    skip "proxy(1) against proxy --help" "proxy is not built"
fi
tap_done
