#!/usr/bin/env bash
# Every C++ source and header in the tree is as clang-format writes it, with
# the repository's .clang-format: the style that holds today, checked, so it
# needs no review effort. Fix a failure with `clang-format -i FILE`.
#
# Files are found at test time (a new file is covered without a meson edit),
# in the source folders only: build dirs hold generated code.
set -euo pipefail
: "${SOURCE_ROOT:?path to the source tree}" "${CLANG_FORMAT:?path to clang-format}"
cd "$SOURCE_ROOT"
mapfile -d '' files < <(find common net relay proxy cellgen launch tests bench tools \
    -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) -print0 2>/dev/null | sort -z)
((${#files[@]} > 100)) || { echo "only ${#files[@]} C++ files found under $SOURCE_ROOT" >&2; exit 1; }
if ! "$CLANG_FORMAT" --dry-run --Werror "${files[@]}"; then
    echo "format: the files above differ from clang-format's output (clang-format -i FILE)" >&2
    exit 1
fi
echo "format: ${#files[@]} files as clang-format writes them"
