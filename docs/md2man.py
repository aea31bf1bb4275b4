#!/usr/bin/env python3
"""Convert the man-page-form markdown in docs/ to man(7) roff.

Usage: md2man.py INPUT.md OUTPUT.1 --version V

Handles the subset the docs use: a "# name(N) — summary" title (.TH, and a
NAME section when the page has none), "##"/"###" headings (.SH/.SS), paragraphs,
fenced code blocks, "-"/"*" bullet lists and "1." lists, pipe tables (one .TP
per row: the first cell is the tag), inline `code`, **bold**, *italic*,
[text](url) and backslash escapes. In an Options section, a bullet or a line
that starts with an option in backticks becomes a .TP entry for that option.
Output is plain ASCII: anything else is written as a groff escape.
"""

import argparse
import re
import sys

NON_ASCII = {'\u2014': r'\(em', '\u2013': r'\(en', '\u2018': r'\(oq',
             '\u2019': r'\(cq', '\u201c': r'\(lq', '\u201d': r'\(rq',
             '\u2026': '...', '\u00a0': r'\~', '\u2192': r'\(->',
             '\u2190': r'\(<-', '\u00d7': r'\(mu', '\u2265': r'\(>=',
             '\u2264': r'\(<='}
FONT = {'R': r'\fR', 'B': r'\fB', 'I': r'\fI'}

TITLE = re.compile(r'^#\s+([A-Za-z0-9_.+-]+)\((\d\w*)\)\s*(?:(?:\u2014|--?)\s*(.*))?$')
HEADING = re.compile(r'^(#{2,3})\s+(.*?)\s*#*\s*$')
FENCE = re.compile(r'^\s*(`{3,}|~{3,})')
BULLET = re.compile(r'^(\s*)([-*+])\s+(.*)$')
ORDERED = re.compile(r'^(\s*)(\d+)[.)]\s+(.*)$')
TABLE_SEP = re.compile(r'^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$')
# An option definition in an Options section: `-x ...` or `--name ...` first.
OPT_DEF = re.compile(r'^(`-[^`]*`(?:,\s*`-[^`]*`)*)\s*(?:\u2014|--|:)?\s*(.*)$', re.S)
OPT_LINE = re.compile(r'^`-[^`]*`(?:,\s*`-[^`]*`)*\s+\u2014\s')


def ascii_char(c):
    if ord(c) < 128:
        return c
    return NON_ASCII.get(c, r'\[u%04X]' % ord(c))


def esc_code(s):
    """Literal text (code spans, code blocks): every character as itself."""
    out = []
    for c in s:
        out.append({'\\': r'\e', '-': r'\-', "'": r'\(aq', '`': r'\(ga',
                    '~': r'\(ti', '^': r'\(ha'}.get(c) or ascii_char(c))
    return ''.join(out)


def code_span(code):
    """Inline code; a long word may break (without a hyphen) after / : , =."""
    words = []
    for word in code.split(' '):
        word = esc_code(word)
        if len(word) > 24:
            word = re.sub(r'([/:,=])(?=.)', r'\1\\:', word)
        words.append(word)
    return ' '.join(words)


def esc_text(s):
    """Prose: backslashes escaped, hyphens starting a word (options) as \\-."""
    out = []
    for i, c in enumerate(s):
        if c == '\\':
            out.append(r'\e')
        elif c == '-' and (i == 0 or not s[i - 1].isalnum()):
            out.append(r'\-')
        else:
            out.append(ascii_char(c))
    return ''.join(out)


def inline(s, font='R'):
    """Markdown inline markup to roff; `font` is the font around the text."""
    out = []
    plain = []
    i = 0

    def flush():
        if plain:
            out.append(esc_text(''.join(plain)))
            plain.clear()

    def styled(inner, f):
        # Nested styles keep the outer bold; the closing escape restores it.
        f = 'B' if font == 'B' else f
        return FONT[f] + inner + FONT[font]

    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s) and s[i + 1] in '\\`*_{}[]()#+-.!|<>~"\'':
            plain.append(s[i + 1])
            i += 2
            continue
        if c == '`':
            n = len(s[i:]) - len(s[i:].lstrip('`'))
            ticks = '`' * n
            end = s.find(ticks, i + n)
            while end != -1 and s[end + n:end + n + 1] == '`':
                end = s.find(ticks, end + n + 1)
            if end != -1:
                code = s[i + n:end].replace('\n', ' ')
                if len(code) > 2 and code[0] == ' ' and code[-1] == ' ':
                    code = code[1:-1]
                flush()
                out.append(styled(code_span(code), 'B'))
                i = end + n
                continue
            plain.append(s[i:i + n])
            i += n
            continue
        if c == '*':
            n = 2 if s.startswith('**', i) else 1
            m = re.compile(r'\*' * n + r'(\S(?:.*?\S)?)' + r'\*' * n + r'(?!\*)', re.S).match(s, i)
            if m and not m.group(1).startswith('*'):
                flush()
                out.append(styled(inline(m.group(1), 'B' if font == 'B' or n == 2 else 'I'),
                                  'B' if n == 2 else 'I'))
                i = m.end()
                continue
        if c == '[':
            m = re.compile(r'\[([^\]]+)\]\(([^)\s]+)\)').match(s, i)
            if m:
                flush()
                out.append(inline(m.group(1), font))
                if m.group(2) != m.group(1):
                    out.append(' (' + esc_code(m.group(2)) + ')')
                i = m.end()
                continue
        plain.append(c)
        i += 1
    flush()
    return ''.join(out)


def text_lines(roff):
    """Roff text lines; a line starting with . or ' would be a request."""
    lines = []
    for line in roff.split('\n'):
        line = line.strip()
        if line:
            lines.append(r'\&' + line if line[0] in ".'" else line)
    return lines


def split_row(line):
    line = line.strip()
    if line.startswith('|'):
        line = line[1:]
    if line.endswith('|') and not line.endswith('\\|'):
        line = line[:-1]
    cells = re.split(r'(?<!\\)\|', line)
    return [c.strip().replace('\\|', '|') for c in cells]


class Converter:
    def __init__(self, version):
        self.version = version
        self.out = []
        self.name = None
        self.summary = None
        self.has_name = False
        self.section = ''

    def emit(self, *lines):
        self.out.extend(lines)

    def para(self, text, macro='.PP'):
        self.emit(macro, *text_lines(inline(text)))

    def tagged(self, tag, *body):
        """.TP with TAG in bold; body paragraphs after the first start on a new line."""
        self.emit('.TP', *(text_lines(inline(tag, 'B') + r'\fR') or [r'\&']))
        for k, text in enumerate(body):
            self.emit(*(['.br'] if k else []), *text_lines(inline(text)))

    def in_options(self):
        return self.section.upper() == 'OPTIONS'

    def heading(self, level, text):
        text = text.replace('`', '')
        if level == 2:
            self.section = text
            if text.upper() == 'NAME':
                self.has_name = True
            self.emit('.SH "%s"' % esc_text(text.upper()).replace('"', r'\(dq'))
        else:
            self.emit('.SS "%s"' % esc_text(text).replace('"', r'\(dq'))

    def name_para(self, text):
        # "`proxy` — does x" or "relay - does x": the whatis form "name \- x".
        text = ' '.join(text.split())
        m = re.match(r'^`?([^`\s]+)`?\s+(?:\u2014|--?)\s+(.*)$', text)
        if m:
            self.emit(esc_text(m.group(1)) + r' \- ' + ' '.join(text_lines(inline(m.group(2)))))
        else:
            self.emit(*text_lines(inline(text)))

    def code_block(self, lines):
        self.emit('.PP', '.RS 4', '.nf')
        for line in lines:
            line = esc_code(line.expandtabs(8).rstrip())
            self.emit(r'\&' + line if line[:1] in ".'" else line)
        self.emit('.fi', '.RE')

    def table(self, rows):
        # One .TP per row: the first cell is the tag, the second the body, and
        # any further cell a "Header: value" line below it.
        header, body = rows[0], rows[1:]
        width = max(2, len(header))
        header = header + [''] * (width - len(header))
        for row in body:
            row = row + [''] * (width - len(row))
            extra = ['%s: %s' % (header[k], row[k]) if header[k] else row[k]
                     for k in range(2, width) if row[k]]
            self.tagged(row[0], row[1], *extra)

    def list_item(self, marker, text):
        if self.in_options() and marker is None:
            m = OPT_DEF.match(' '.join(text.split()))
            if m:
                self.tagged(m.group(1), m.group(2))
                return
        if marker is None:
            self.emit(r'.IP \(bu 2', *text_lines(inline(text)))
        else:
            self.emit('.IP %s 4' % marker, *text_lines(inline(text)))

    def paragraph(self, lines):
        if self.section.upper() == 'NAME':
            self.name_para('\n'.join(lines))
            return
        if self.in_options():
            # Split into option entries at lines that start with `--opt` —.
            chunks = [[]]
            for line in lines:
                if OPT_LINE.match(line) and chunks[-1]:
                    chunks.append([])
                chunks[-1].append(line)
            for chunk in chunks:
                text = '\n'.join(chunk)
                m = OPT_DEF.match(text) if OPT_LINE.match(chunk[0]) else None
                if m:
                    self.tagged(m.group(1), m.group(2))
                else:
                    self.para(text)
            return
        self.para('\n'.join(lines))

    def convert(self, text):
        lines = text.split('\n')
        i = 0
        n = len(lines)
        while i < n and not lines[i].strip():
            i += 1
        m = TITLE.match(lines[i]) if i < n else None
        if not m:
            sys.exit('md2man: the first line must be "# name(N) \u2014 summary"')
        self.name, sect, self.summary = m.group(1), m.group(2), m.group(3)
        self.emit('.\\" Generated by docs/md2man.py; do not edit.',
                  '.TH %s %s "" "unsafe-cell %s" "User Commands"'
                  % (esc_text(self.name.upper()), sect, esc_text(self.version)))
        # Ragged right, no hyphenation: long code words would otherwise leave
        # lines that cannot be justified, and options must stay whole.
        self.emit('.nh', '.ad l')
        body_start = len(self.out)
        i += 1
        while i < n:
            line = lines[i]
            if not line.strip():
                i += 1
                continue
            fence = FENCE.match(line)
            if fence:
                close = fence.group(1)[0] * len(fence.group(1))
                block = []
                i += 1
                while i < n and not lines[i].strip().startswith(close):
                    block.append(lines[i])
                    i += 1
                self.code_block(block)
                i += 1
                continue
            h = HEADING.match(line)
            if h:
                self.heading(len(h.group(1)), h.group(2))
                i += 1
                continue
            if line.lstrip().startswith('|') and i + 1 < n and TABLE_SEP.match(lines[i + 1]):
                rows = [split_row(line)]
                i += 2
                while i < n and lines[i].lstrip().startswith('|'):
                    rows.append(split_row(lines[i]))
                    i += 1
                self.table(rows)
                continue
            b = BULLET.match(line) or ORDERED.match(line)
            if b:
                indent = len(b.group(1))
                marker = None if BULLET.match(line) else b.group(2) + '.'
                item = [b.group(3)]
                i += 1
                while (i < n and lines[i].strip() and not BULLET.match(lines[i])
                       and not ORDERED.match(lines[i]) and not FENCE.match(lines[i])
                       and not HEADING.match(lines[i])
                       and len(lines[i]) - len(lines[i].lstrip()) > indent):
                    item.append(lines[i].strip())
                    i += 1
                self.list_item(marker, '\n'.join(item))
                continue
            para = [line]
            i += 1
            while (i < n and lines[i].strip() and not FENCE.match(lines[i])
                   and not HEADING.match(lines[i]) and not BULLET.match(lines[i])
                   and not ORDERED.match(lines[i])
                   and not (lines[i].lstrip().startswith('|') and i + 1 < n
                            and TABLE_SEP.match(lines[i + 1]))):
                para.append(lines[i])
                i += 1
            self.paragraph(para)
        if not self.has_name:
            name = [r'.SH NAME', esc_text(self.name) + r' \- ' +
                    (inline(self.summary) if self.summary else esc_text(self.name))]
            self.out[body_start:body_start] = name
        return '\n'.join(self.tidy(self.out)) + '\n'

    @staticmethod
    def tidy(out):
        # .PP/.TP/.IP right after .SH/.SS is redundant (and groff says so).
        res = []
        for line in out:
            if line == '.PP' and res and res[-1].startswith(('.SH', '.SS')):
                continue
            res.append(line)
        return res


def main():
    ap = argparse.ArgumentParser(description='markdown man page to man(7) roff')
    ap.add_argument('input')
    ap.add_argument('output')
    ap.add_argument('--version', required=True)
    args = ap.parse_args()
    with open(args.input, encoding='utf-8') as f:
        roff = Converter(args.version).convert(f.read())
    with open(args.output, 'w', encoding='ascii') as f:
        f.write(roff)


if __name__ == '__main__':
    main()
