#!/usr/bin/env bash
# Every .nix file in the source tree parses (nix-instantiate --parse).
set -uo pipefail
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SOURCE_ROOT/tests/lib/tap.sh"
source "$SOURCE_ROOT/tests/nix/nix_eval.sh"

mapfile -d '' files < <(cd "$SOURCE_ROOT" && find . \( -path './build*' -o -path './.git' \) -prune \
    -o -name '*.nix' -type f -print0 | sort -z)
for want in ./flake.nix ./default.nix ./nix/cell-args.nix ./nix/mk-cell.nix ./examples/flake/flake.nix; do
    expect_eq "found $want" "$want" "$(printf '%s\n' "${files[@]}" | grep -Fx -- "$want")"
done
for f in "${files[@]}"; do
    check "parses: ${f#./}" nix-instantiate --parse "$SOURCE_ROOT/$f"
done
tap_done
