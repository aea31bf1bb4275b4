#!/usr/bin/env bash
# The commands a user pastes (issue 17 item 10): every ```sh block of the
# README's "Using it", docs/cell.md and examples/README.md runs as written,
# with only these stand-ins: `cell` and `build/launch/cell` are the built
# launcher, /path/to/examples is this tree's examples/, HOME and
# /var/lib/ci are scratch dirs (~/src/project, ~/src/app and the CI checkout
# exist there, as the text assumes). A block passes when the cell started and
# ran its command: not exit 2 or 70 (cell's own errors), and 127 only as
# "not found inside the cell" for a program this host lacks (opencode, make).
# Blocks that need the host's nix daemon are skipped without one; the README's
# first two commands and the build block are what CI itself runs.
set -uo pipefail
here=$(dirname -- "$0")
source "$here/../lib/tap.sh"
: "${CELL:?}" "${SOURCE_ROOT:?}"
T=$(mktemp -d /tmp/doc-commands.XXXXXX)
trap 'rm -rf -- "$T"' EXIT
chmod 755 "$T"
export HOME=$T/home XDG_RUNTIME_DIR=$T/run
mkdir -p "$HOME/src/project" "$HOME/src/app" "$XDG_RUNTIME_DIR" "$T/var/lib/ci/checkout" "$T/here"
git -C "$T/var/lib/ci/checkout" init -q
nix_socket=/nix/var/nix/daemon-socket/socket

blocks=$(python3 - "$SOURCE_ROOT" <<'PY'
import re, sys, json
root = sys.argv[1]
out = []
for f in ["README.md", "docs/cell.md", "examples/README.md"]:
    text = open(f"{root}/{f}").read()
    for m in re.finditer(r"```sh\n(.*?)```", text, re.S):
        block = m.group(1)
        if "scripts/" in block or "meson " in block:
            continue  # CI runs these
        out.append(f + ": " + block.strip().replace("\n", "\x1f"))
print("\n".join(out))
PY
)
while IFS= read -r line; do
    where=${line%%: *}
    block=${line#*: }
    block=${block//$'\x1f'/$'\n'}
    script=$(sed -e "s|^build/launch/cell |\"\$CELL\" |" -e "s|^cell |\"\$CELL\" |" \
        -e "s|&& cell |\&\& \"\$CELL\" |" -e "s|/path/to/examples|$SOURCE_ROOT/examples|g" \
        -e "s|/var/lib/ci|$T/var/lib/ci|g" <<<"$block")
    name="$where: $(head -c 90 <<<"${block##*$'\n'}")"
    if grep -qE -- '--nix on|ci\.ini' <<<"$block" && [[ ! -S $nix_socket ]]; then
        TAP_N=$((TAP_N + 1))
        echo "ok $TAP_N - $name # SKIP no nix daemon at $nix_socket (tests/nix/examples.sh runs the CI job with its own)"
        continue
    fi
    out=$(cd "$T/here" && CELL=$CELL timeout 60 bash -ec "$script" <<<"exit 0" 2>&1)
    rc=$?
    ok=0
    if ((rc == 2 || rc == 70 || rc == 124)); then
        ok=1
    elif ((rc == 127)) && ! grep -qE '^cell: (opencode|make): not found inside the cell$' <<<"$out"; then
        ok=1
    fi
    TAP_N=$((TAP_N + 1))
    if ((ok == 0)); then
        echo "ok $TAP_N - $name (exit $rc)"
    else
        echo "not ok $TAP_N - $name (exit $rc)"
        printf '%s\n' "$out" | tail -n 8 | sed 's/^/# /'
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
done <<<"$blocks"
tap_done
