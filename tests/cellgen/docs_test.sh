#!/usr/bin/env bash
# Every combinator and option that `cellgen --help` lists (generated from the
# combinator table) is documented in docs/cellgen.md.
set -euo pipefail
: "${CELLGEN:?path to cellgen}" "${CELLGEN_DOC:?path to docs/cellgen.md}"
help=$("$CELLGEN" --help)
mapfile -t names < <(sed -n 's/^  \(-[a-z0-9], \)\{0,1\}\(-\{1,2\}\)\{0,1\}\[ *--\([a-z0-9-]*\).*/\3/p; s/^  --\([a-z0-9-]*\).*/\1/p' <<<"$help" | sort -u)
((${#names[@]} > 40)) || { echo "not ok - only ${#names[@]} names parsed from --help"; exit 1; }
missing=0
for name in "${names[@]}"; do
    if ! grep -qE -- "(--|\`)$name([ \`,]|$)" "$CELLGEN_DOC"; then
        echo "not ok - $name is in --help but not in docs/cellgen.md"
        missing=$((missing + 1))
    fi
done
((missing == 0)) || exit 1
echo "ok - ${#names[@]} options and combinators documented"
