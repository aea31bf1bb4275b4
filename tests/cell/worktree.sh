#!/usr/bin/env bash
# What the program sees of its worktree and its command (issue 17 items 6
# and 9), in real cells, as root and as an unprivileged user:
#  - --mask GLOB: files matching when the cell starts read as empty and can
#    be neither written, removed nor renamed; other files are untouched; a
#    file created in the cell is not masked; the host's files keep their
#    content; bad globs are refused at plan time (exit 2), nothing started;
#  - a command that is not in the cell exits 127 with
#    `cell: CMD: not found inside the cell`, before anything starts; one
#    that is there (on PATH, through links, or relative to the worktree)
#    runs.
set -uo pipefail
here=$(dirname -- "$0")
source "$here/lib.sh"

run_checks() {
    local who=$1 runas=() wt=$SCRATCH/wt-$1 owner cell_bin=$CELL
    mkdir -p "$wt"
    if [[ $who == unpriv ]]; then
        owner=$(unpriv_user)
        runas=(runuser -u "$owner" -- env -i PATH=/usr/bin:/bin HOME=/tmp XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
        cell_bin=$UNPRIV_CELL
    else
        owner=root
        runas=(env)
    fi
    masks
    missing_command
    expect_eq "$who: nothing left behind" "" "$(leftovers)"
}

masks() {
    local out rc
    mkdir -p "$wt/app/config" "$wt/certs"
    echo "TOKEN=$who-secret" >"$wt/.env"
    echo "DB=$who-secret" >"$wt/app/config/.env"
    echo "PEM-$who" >"$wt/certs/server.pem"
    echo "example" >"$wt/.env.example"
    echo "code" >"$wt/app/main.py"
    chown -R "$owner" "$wt"
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off --mask '**/.env' \
        --mask '**/*.pem' -- sh -c '
            for f in .env app/config/.env certs/server.pem .env.example app/main.py; do
                echo "read $f=[$(cat "$f")]"
            done
            echo x >.env 2>/dev/null && echo "wrote .env"
            echo x >>certs/server.pem 2>/dev/null && echo "appended server.pem"
            rm -f app/config/.env 2>/dev/null && echo "removed app/config/.env"
            mv certs/server.pem certs/moved.pem 2>/dev/null && echo "renamed server.pem"
            echo "later" >app/.env && echo "new=[$(cat app/.env)]"
            echo edited >>app/main.py && echo "edited main.py"' 2>&1)
    rc=$?
    expect_eq "$who: a masked cell runs (exit 0)" 0 "$rc"
    check "$who: .env reads as empty" grep -qxF "read .env=[]" <<<"$out"
    check "$who: a nested .env reads as empty (**)" grep -qxF "read app/config/.env=[]" <<<"$out"
    check "$who: a .pem in a sub dir reads as empty" grep -qxF "read certs/server.pem=[]" <<<"$out"
    check "$who: .env.example is not masked" grep -qxF "read .env.example=[example]" <<<"$out"
    check "$who: other files read as they are" grep -qxF "read app/main.py=[code]" <<<"$out"
    check "$who: a masked file cannot be written, appended, removed or renamed" \
        bash -c '! grep -qE "^(wrote|appended|removed|renamed)" <<<"$1"' _ "$out"
    check "$who: a file created in the cell is not masked (documented)" \
        grep -qxF "new=[later]" <<<"$out"
    check "$who: the rest of the worktree stays writable" grep -qxF "edited main.py" <<<"$out"
    expect_eq "$who: the host's .env keeps its content" "TOKEN=$who-secret" "$(cat "$wt/.env")"
    expect_eq "$who: the host's .pem keeps its content" "PEM-$who" "$(cat "$wt/certs/server.pem")"
    check "$who: no secret appears in the cell's output" bash -c '! grep -q secret <<<"$1"' _ "$out"
    # Bad globs: refused by cellgen (exit 2), naming the flag; nothing starts.
    for bad in /etc/passwd '../*.env' 'a/../../x'; do
        out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off --mask "$bad" -- \
            sh -c 'echo ran' 2>&1)
        rc=$?
        expect_eq "$who: --mask '$bad' is refused (exit 2)" 2 "$rc"
        check "$who: ... naming --mask ($(tr "\n" " " <<<"$out"))" grep -q -- "--mask" <<<"$out"
        check "$who: ... before the command ran" bash -c '! grep -qx ran <<<"$1"' _ "$out"
    done
    out=$("${runas[@]}" "$cell_bin" --nix off --mask '**/.env' -- true 2>&1)
    rc=$?
    expect_eq "$who: --mask without --worktree is refused (exit 2)" 2 "$rc"
    check "$who: ... saying why ($(tr "\n" " " <<<"$out"))" grep -q "has no --worktree" <<<"$out"
}

missing_command() {
    local out rc
    printf '#!/bin/sh\necho script-ran\n' >"$wt/run.sh"
    chmod 755 "$wt/run.sh"
    chown "$owner" "$wt/run.sh"
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off -- no-such-command-here arg 2>&1)
    rc=$?
    expect_eq "$who: a command not in the cell exits 127" 127 "$rc"
    check "$who: ... saying so in the user's words ($(tr "\n" " " <<<"$out"))" \
        grep -qxF "cell: no-such-command-here: not found inside the cell" <<<"$out"
    check "$who: ... before anything started (no policy line, no bwrap message)" \
        bash -c '! grep -qE "deny by default|bwrap" <<<"$1"' _ "$out"
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off -- /usr/local/bin/nope 2>&1)
    expect_eq "$who: an absolute path not in the cell exits 127 too" 127 "$?"
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off -- ./run.sh 2>&1)
    rc=$?
    expect_eq "$who: a script in the worktree, by relative path, runs" "0 script-ran" \
        "$rc $(grep -x script-ran <<<"$out")"
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off -- sh -c 'exit 3' 2>&1)
    expect_eq "$who: a found command's own status passes through" 3 "$?"
    # Found through Debian's alternatives links when the host has one.
    if [[ -e /usr/bin/awk ]]; then
        out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off -- awk 'BEGIN{print "awk-ran"}' 2>&1)
        expect_eq "$who: a command behind absolute links (awk) runs" "awk-ran" \
            "$(grep -x awk-ran <<<"$out")"
    fi
    out=$("${runas[@]}" "$cell_bin" --worktree "$wt" --nix off -- sh -c 'no-such-inner; echo "rc=$?"' 2>&1)
    check "$who: a command missing inside a shell is the shell's business (127 from sh)" \
        grep -qx "rc=127" <<<"$out"
}

run_checks root
run_checks unpriv
tap_done
