#!/usr/bin/env python3
"""Writes a C++ source defining cellgen::FUNCTION() from a text file.

Usage: embed_text.py INPUT OUTPUT FUNCTION HEADER (HEADER as included from
the repository root, e.g. launch/cell_text.hpp). Bytes are written as numbers so any content
(quotes, backslashes, `)"` sequences) embeds unchanged.
"""
import sys

data = open(sys.argv[1], "rb").read()
if len(sys.argv) != 5:
    sys.exit("usage: embed_text.py INPUT OUTPUT FUNCTION HEADER")
func, header = sys.argv[3], sys.argv[4]
rows = [", ".join(str(b) for b in data[i:i + 24]) for i in range(0, len(data), 24)]
body = ",\n    ".join(rows)
with open(sys.argv[2], "w") as out:
    out.write(f"""// Generated from {sys.argv[1].rsplit('/', 1)[-1]} by embed_text.py; do not edit.
#include "{header}"

namespace cellgen {{

namespace {{
constexpr unsigned char kText[] = {{
    {body}{"," if data else ""} 0}};
}} // namespace

std::string_view {func}() {{
    return {{reinterpret_cast<const char*>(kText), sizeof kText - 1}};
}}

}} // namespace cellgen
""")
