#!/usr/bin/env bash
# The man pages docs/meson.build generates from docs/*.md with docs/md2man.py:
# groff has nothing to warn about; `man -l` renders NAME, SYNOPSIS, every
# option the markdown's Options section names, every table row as a tagged
# paragraph, and no markdown syntax; `meson install --tags man` puts them in
# share/man/man1.
# Env: MAN_PAGES (colon-separated generated pages), SOURCE_ROOT, and for the
# install check BUILD_ROOT and MESON (skipped when either is empty).
set -uo pipefail
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SOURCE_ROOT/tests/lib/tap.sh"

if [[ -z ${MAN_PAGES:-} ]] || ! command -v groff >/dev/null || ! command -v man >/dev/null; then
    echo "1..0 # SKIP needs MAN_PAGES, groff and man"
    exit 0
fi
IFS=: read -ra pages <<<"$MAN_PAGES"
export LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat MAN_KEEP_FORMATTING=
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

# silent CMD...: CMD succeeds and prints nothing on stdout or stderr.
silent() {
    local out
    out=$("$@" 2>&1) || { printf '%s\n' "$out"; return 1; }
    [[ -z $out ]] || { printf '%s\n' "$out"; return 1; }
}

# A fixed string as an ERE; an apostrophe may come out typographic.
ere() { sed -e 's/[]\/$*.^+?(){}|[]/\\&/g' -e "s/'/./g" <<<"$1"; }

# rendered TEXT ERR: man produced text and nothing on stderr.
rendered() { [[ -s $1 && ! -s $2 ]] || { cat -- "$2"; return 1; }; }

# name_line TEXT NAME: the line after the NAME heading is "NAME - summary".
name_line() { grep -A1 -x NAME "$1" | tail -n 1 | grep -E "^ +$2 - [^ ]"; }

# whatis PAGE NAME: lexgrog (what mandb uses) reads "NAME - summary".
whatis() { lexgrog "$1" | grep -F "\"$2 - "; }

# none ERE FILE: no line of FILE matches (the matches are the failure output).
none() { ! grep -nE -- "$1" "$2"; }

# same_file GOT WANT: GOT was found and has WANT's content.
same_file() { [[ -n $1 ]] && cmp -- "$1" "$2"; }

# Every - that starts a word (options) is written \- in the roff source, so it
# renders as ASCII hyphen-minus everywhere (a bare - may become a typographic
# hyphen). Line 1 is the generator comment.
minus_escaped() { ! sed 1d "$1" | grep -nE '(^|[^\\A-Za-z0-9])-'; }

# Markdown that must not survive: backticks, table rules, **bold** (but not
# the **.example.com and **/.env patterns), \|, ##/### headings. Fences are backticks.
leftover='`|\|[ :]*---|\*\*[^./]|\\\||^ *#{2,3} '

# The converter on constructs the pages may not (yet) use.
if [[ -n ${MD2MAN:-} && -n ${PYTHON:-} ]]; then
    cat >"$tmp/demo.md" <<'MD'
# demo(1) — a fixture for md2man

## Synopsis

`demo [--flag] FILE`

## Options

| option | meaning |
| --- | --- |
| `--mode a\|b` | pick a\|b; see [the docs](https://example.org/docs) |
| `-x`, `--extra` | **bold `--code` inside** and *italic* |

- `--listed N` a bullet option.

## Notes

.this line starts with a dot

'this one with an apostrophe

a backslash \\ and C:\path
MD
    check "md2man converts a fixture" "$PYTHON" "$MD2MAN" "$tmp/demo.md" "$tmp/demo.1" --version 9.9
    check "fixture: groff -man -ww -z says nothing" silent groff -man -ww -z "$tmp/demo.1"
    man -P cat -l "$tmp/demo.1" 2>&1 | sed 's/.\x08//g' >"$tmp/demo.txt"
    for want in 'demo - a fixture for md2man' 'demo [--flag] FILE' '--mode a|b' \
        'pick a|b; see the docs (https://example.org/docs)' '-x, --extra' \
        'bold --code inside and italic' '--listed N' 'a bullet option.' \
        '.this line starts with a dot' "'this one with an apostrophe" \
        'a backslash \ and C:\path'; do
        check "fixture renders: $want" grep -qE "^ +$(ere "$want")\$" "$tmp/demo.txt"
    done
    check "fixture: footer names unsafe-cell 9.9" grep -qE '^unsafe-cell 9\.9 ' "$tmp/demo.txt"
else
    echo "# converter fixture skipped: MD2MAN or PYTHON not set"
fi

for page in "${pages[@]}"; do
    name=$(basename "$page" .1)
    # Option-like words are written \- in the source so that they render as
    # ASCII hyphen-minus everywhere (a bare - may become a typographic hyphen).
    check "$name.1: every - starting a word is written \\-" minus_escaped "$page"
    md=$SOURCE_ROOT/docs/$name.md
    check "$name.1: groff -man -ww -z says nothing" silent groff -man -ww -z "$page"
    check "$name.1: groff -man -ww -Tutf8 at 80 columns says nothing" \
        silent groff -man -ww -z -Tutf8 -rLL=80n "$page"

    text=$tmp/$name.txt
    man -P cat -l "$page" 2>"$tmp/$name.err" | sed 's/.\x08//g' >"$text"
    check "$name.1: man -l renders it without complaint" rendered "$text" "$tmp/$name.err"
    check "$name.1: NAME says '$name - ...'" name_line "$text" "$name"
    check "$name.1: has SYNOPSIS" grep -qx SYNOPSIS "$text"
    if command -v lexgrog >/dev/null; then
        check "$name.1: lexgrog reads the whatis line" whatis "$page" "$name"
    fi

    # Options: every -x/--name that starts a code span in the Options section.
    # shellcheck disable=SC2016 # the backticks are markdown, not expansions
    opts=$(sed -n '/^## [Oo][Pp][Tt][Ii][Oo][Nn][Ss]/,/^## /p' "$md" | grep -oE '`-[^`]*`' |
        grep -oE -- '--?[A-Za-z0-9][A-Za-z0-9-]*' | sort -u)
    check "$name.md: its Options section names options" test "$(wc -w <<<"$opts")" -ge 5
    missing=
    for o in $opts; do
        grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|\$)" "$text" || missing+="$o "
    done
    expect_eq "$name.1: shows all $(wc -w <<<"$opts") options of the Options section" "" "$missing"

    # Tables: each body row's first cell is a tag, alone or followed by the body.
    tags=$(awk '
        function rule(l) { return l ~ /^\|[ :|-]+$/ }
        { line[NR] = $0 }
        END {
            for (i = 1; i <= NR; i++) {
                if (line[i] !~ /^\|/ || rule(line[i]) || rule(line[i + 1])) continue
                l = line[i]; gsub(/\\\|/, "\001", l); split(l, cell, "|")
                c = cell[2]; gsub(/^ +| +$/, "", c); gsub(/\001/, "|", c)
                gsub(/`|\*\*/, "", c); print c
            }
        }' "$md")
    if [[ -n $tags ]]; then
        bad=
        while IFS= read -r tag; do
            grep -qE "^ {7}$(ere "$tag")( {2,}[^ ].*)?\$" "$text" || bad+="[$tag] "
        done <<<"$tags"
        expect_eq "$name.1: all $(wc -l <<<"$tags") table rows are tagged paragraphs" "" "$bad"
    fi

    check "$name.1: no markdown left (fences, table rules, **, backticks, \\|, headings)" \
        none "$leftover" "$text"
done

# Install into a scratch DESTDIR: only the 'man' tag, no rebuild.
if [[ -n ${MESON:-} && -n ${BUILD_ROOT:-} ]]; then
    check "meson install --tags man --destdir works" \
        "$MESON" install -C "$BUILD_ROOT" --no-rebuild --tags man --destdir "$tmp/dest"
    for page in "${pages[@]}"; do
        name=$(basename "$page" .1)
        got=$(find "$tmp/dest" -path "*/share/man/man1/$name.1" -type f)
        check "meson install puts $name.1 in share/man/man1" same_file "$got" "$page"
    done
    # The programs: only cell and cellgen on PATH; the helpers with
    # generic names in libexec/unsafe-cell, where the installed cellgen
    # finds them.
    if "$MESON" install -C "$BUILD_ROOT" --no-rebuild --destdir "$tmp/all" >"$tmp/install.log" 2>&1; then
        bin=$(find "$tmp/all" -type d -path '*/bin' | head -n 1)
        expect_eq "meson install puts only cell and cellgen in bin/" "cell cellgen" \
            "$(ls "$bin" | tr '\n' ' ' | sed 's/ $//')"
        libexec=$(find "$tmp/all" -type d -path '*/libexec/unsafe-cell')
        expect_eq "... and relay, proxy, cell-launch, cell-connect, cell-engine in libexec/unsafe-cell/" \
            "cell-connect cell-engine cell-launch proxy relay" \
            "$(ls "$libexec" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
        plan=$("$bin/cellgen" --print json --nix on --containers -- true 2>&1)
        check "the installed cellgen finds the installed relay, proxy, cell-connect and cell-engine" \
            bash -c 'grep -qF "\"$2/relay\"" <<<"$1" && grep -qF "\"$2/proxy\"" <<<"$1" &&
                grep -qF "\"$2/cell-connect\"" <<<"$1" && grep -qF "\"$2/cell-engine\"" <<<"$1"' \
            _ "$plan" "$libexec"
    else
        check "meson install --destdir works" bash -c 'cat "$1"; false' _ "$tmp/install.log"
    fi
else
    echo "# install check skipped: MESON or BUILD_ROOT not set"
fi
tap_done
