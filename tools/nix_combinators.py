#!/usr/bin/env python3
"""cellgen's combinator table, read from `cellgen --help`, as the JSON that
nix/combinators.nix turns into mkCell's `extraCombinators` set.

    cellgen --help | tools/nix_combinators.py > nix/combinators.json
    cellgen --help | tools/nix_combinators.py --check nix/combinators.json

`--help` lists every combinator from the one table in cellgen/registry.cpp,
so the checked-in JSON and the test that runs --check (tests/nix/meson.build,
nix-combinators) keep the Nix set and cellgen from drifting apart.

Arity comes from the signature: `X` is required, `[X]` optional, `X...` one
or more (cellgen's argument-count check uses the same min/max).
"""
import json
import re
import sys

HEADER = "Combinators ("
ENTRY = re.compile(r"^  --([a-z0-9][a-z0-9-]*)(?: (.*))?$")


def arity(signature):
    lo, hi = 0, 0
    for word in signature.split():
        if word.endswith("..."):
            lo, hi = lo + (0 if word.startswith("[") else 1), -1
        elif word.startswith("[") and word.endswith("]"):
            hi = hi if hi < 0 else hi + 1
        elif re.fullmatch(r"[A-Z_]+", word):
            lo, hi = lo + 1, hi if hi < 0 else hi + 1
        else:
            raise SystemExit(f"nix_combinators: cannot read the signature {signature!r}")
    return lo, hi


def parse(text):
    lines = text.splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith(HEADER)) + 1
    except StopIteration:
        raise SystemExit("nix_combinators: no 'Combinators (' section in the help text")
    table, current = [], None
    for line in lines[start:]:
        if not line.strip():
            break
        m = ENTRY.match(line)
        if m:
            name, sig = m.group(1), m.group(2) or ""
            lo, hi = arity(sig)
            current = {"name": name, "signature": sig, "min": lo, "max": hi, "help": ""}
            table.append(current)
        elif line.startswith("      ") and current is not None:
            current["help"] = (current["help"] + " " + line.strip()).strip()
        else:
            raise SystemExit(f"nix_combinators: unexpected line {line!r}")
    if not table:
        raise SystemExit("nix_combinators: the Combinators section is empty")
    return table


def render(table):
    return json.dumps(table, indent=1, ensure_ascii=False) + "\n"


def main(argv):
    out = render(parse(sys.stdin.read()))
    if len(argv) == 3 and argv[1] == "--check":
        with open(argv[2], encoding="utf-8") as f:
            have = f.read()
        if have != out:
            sys.stderr.write(
                f"{argv[2]} differs from `cellgen --help`; regenerate it with\n"
                f"  cellgen --help | tools/nix_combinators.py > {argv[2]}\n")
            return 1
        return 0
    if len(argv) != 1:
        sys.stderr.write("usage: cellgen --help | nix_combinators.py [--check FILE]\n")
        return 2
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
