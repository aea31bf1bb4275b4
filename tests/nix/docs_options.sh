#!/usr/bin/env bash
# docs/cell.md, `cell --help` and `cellgen --help` agree: every option the
# cell docs or cell's usage name is one cellgen accepts, and every cell-level
# option is documented in cell(1).
set -uo pipefail
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SOURCE_ROOT/tests/lib/tap.sh"

if [[ -z ${CELLGEN:-} || ! -x ${CELLGEN:-} ]]; then
    echo "1..0 # SKIP cellgen is not built"
    exit 0
fi
cell=${CELL:-$SOURCE_ROOT/launch/doctor.sh}
gen_opts=$("$CELLGEN" --help | grep -oE '^  (-[a-z0-9] \[ )?--[a-z0-9-]+' | sed 's/.*--/--/' | sort -u)

# Options in the first column of docs/cell.md's option table.
doc_opts=$(sed -n '/^## Options/,/^## /p' "$SOURCE_ROOT/docs/cell.md" |
    grep -E '^\| `-' | cut -d'|' -f2 | grep -oE -- '--[a-z0-9-]+' | sort -u)
# The built cell is a program; doctor.sh, its embedded usage, runs with bash.
cell_help() { if [[ $cell == *.sh ]]; then bash "$cell" --help; else "$cell" --help; fi; }
usage_opts=$(cell_help | grep -oE '^  --[a-z0-9-]+' | sed 's/^ *//' | sort -u)

expect_eq "docs/cell.md documents only options cellgen has" "" \
    "$(comm -23 <(printf '%s\n' "$doc_opts") <(printf '%s\n' "$gen_opts") | tr '\n' ' ')"
expect_eq "cell --help names only options cellgen has" "" \
    "$(comm -23 <(printf '%s\n' "$usage_opts") <(printf '%s\n' "$gen_opts") | tr '\n' ' ')"
cell_level=(--worktree --log-dir --nix --nix-daemon-socket --filter --filter-type --allow --deny
    --allow-cidr --connect-port --proxy-port --profile --print --raw-arg)
for o in "${cell_level[@]}"; do
    expect_eq "cell(1) documents $o" "$o" "$(grep -x -- "$o" <<<"$doc_opts")"
done
# The environment table of cell(1) against a real plan's environment.
wt=$(mktemp -d)
trap 'rm -rf -- "$wt"' EXIT
plan_env=$(TERM=xterm "$CELLGEN" --print json --worktree "$wt" --proxy-bin "${PROXY:-/bin/true}" -- true |
    python3 -c 'import json, sys; print("\n".join(sorted({k.upper() for k in json.load(sys.stdin)["env"]})))')
doc_env=$(sed -n '/^## Environment inside the cell/,/^## /p' "$SOURCE_ROOT/docs/cell.md" |
    grep -E '^\| `' | cut -d'|' -f2 | grep -oE '`[A-Za-z_]+`' | tr -d '`' | tr a-z A-Z | sort -u)
expect_eq "every variable a cell gets is in cell(1)'s table" "" \
    "$(comm -23 <(printf '%s\n' "$plan_env") <(printf '%s\n' "$doc_env") | tr '\n' ' ')"
expect_eq "cell(1)'s table names no variable a cell does not get" "" \
    "$(comm -13 <(printf '%s\n' "$plan_env") <(printf '%s\n' "$doc_env") | tr '\n' ' ')"
tap_done
