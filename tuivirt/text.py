"""Text from outside (daemons, guests, files) made safe to draw or print on a terminal.

A container's command, a domain's name, a daemon's error: whoever controls them can put
escape sequences in them (OSC 52 writes the user's clipboard, OSC 2 the window title,
CSI 2J clears the screen), bidi overrides that reorder what a line seems to say, and
invisible characters that make two names look alike. Every such text goes through
`inert` (one line) or `inert_lines` (a message that may keep its line breaks) before it
is drawn or printed; `--json` and byte-exact data (`dumpxml`) do not.

Escaped: Unicode categories Cc (C0 including TAB and LF on one line, DEL, C1 including
U+0085 and U+009B CSI), Cf (bidi embeddings, overrides, isolates and marks, zero-width
space/joiners, word joiner, BOM, soft hyphen, ...), Cs (lone surrogates, as
surrogateescape leaves undecodable bytes) and Zl/Zp (U+2028/U+2029: line breaks of
their own). Each becomes a visible escape: `\\x1b`, `\\u202e`, `\\U000e0001`, `\\t`.
A backslash is left as it is: the escapes are for the eye, not a reversible encoding.

No import beyond the standard library: `tuivirt list` imports this.
"""

from __future__ import annotations

import unicodedata

#: Categories whose characters act on the terminal or on the text around them, or are
#: invisible: never drawn as they are.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(char: str) -> str:
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def is_unsafe(char: str) -> bool:
    """Would `char` act on the terminal, reorder the text, or hide, if printed?"""
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def inert(text: str) -> str:
    """`text` on one line, every unsafe character (TAB and newline too) escaped."""
    # isprintable() is C and false for every unsafe category (and for a few harmless
    # ones: non-ASCII spaces, private use, unassigned): most names never get further.
    if text.isprintable():
        return text
    return "".join(_escape(c) if unicodedata.category(c) in UNSAFE_CATEGORIES else c
                   for c in text)


def inert_lines(text: str) -> str:
    """A message that may span lines: `\\n` and TAB kept (a CRLF becomes `\\n`),
    every other unsafe character escaped."""
    if text.isprintable():
        return text
    text = text.replace("\r\n", "\n")
    return "".join(_escape(c) if c not in "\n\t"
                   and unicodedata.category(c) in UNSAFE_CATEGORIES else c for c in text)


def cell_width(text: str) -> int:
    """How many terminal cells `text` takes: East Asian wide and fullwidth characters 2,
    combining marks and format characters 0, the rest 1. Meant for text made `inert`
    (a control character has no width to speak of)."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    """`text` left-aligned in `width` cells (as str.ljust, counting cells)."""
    return text + " " * (width - cell_width(text))


def in_place(text: str) -> str:
    """Every unsafe character as one visible character of its own (C0 as its control
    picture, `␛`; DEL `␡`; the rest `�`), the others untouched: for a view whose
    character offsets must stay put, e.g. an editor drawing its buffer."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if unicodedata.category(char) in UNSAFE_CATEGORIES:
            code = ord(char)
            char = chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F \
                else "\ufffd"
        out.append(char)
    return "".join(out)
