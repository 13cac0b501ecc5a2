"""Outside text made inert: nothing that acts on a terminal or reorders a line survives."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import FORBIDDEN_RANGES, forbidden
from tuivirt.text import UNSAFE_CATEGORIES, cell_width, in_place, inert, inert_lines, pad

# What a hostile name, error or file may hold, by class (the list, spelled out).
C0 = [chr(c) for c in range(0x20)]
DEL = ["\x7f"]
C1 = [chr(c) for c in range(0x80, 0xA0)]  # U+0085 NEL, U+009B CSI, U+009D OSC, U+009C ST
BIDI = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A),
                         0x200E, 0x200F, 0x061C]]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
SURROGATES = ["\ud800", "\udc80", "\udfff"]  # surrogateescape'd bytes
SEPARATORS = ["\u2028", "\u2029"]
FORBIDDEN = frozenset(C0 + DEL + C1 + BIDI + ZERO_WIDTH + SURROGATES + SEPARATORS)


@pytest.mark.parametrize("char", sorted(FORBIDDEN))
def test_every_class_is_escaped_visibly(char: str) -> None:
    out = inert(f"a{char}b")
    assert out.startswith("a") and out.endswith("b")
    assert not any(forbidden(c) for c in out)
    assert out[1] == "\\" and len(out) > 3  # shown, not dropped: the user sees it is there


@pytest.mark.parametrize(("text", "shown"), [
    ("/bin/\x1b]52;c;cHduZWQ=\x1b\\\x1b]2;pwned\x1b\\x",
     "/bin/\\x1b]52;c;cHduZWQ=\\x1b\\\\x1b]2;pwned\\x1b\\x"),
    ("\x1b[2J", "\\x1b[2J"),
    ("\x9b2J", "\\x9b2J"),
    ("\x85", "\\x85"),
    ("evil\u202egnp.exe", "evil\\u202egnp.exe"),
    ("a\u2066b\u2069", "a\\u2066b\\u2069"),
    ("a\tb\nc\r", "a\\tb\\nc\\r"),
    ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
    ("bad\udc80byte", "bad\\udc80byte"),
    ("tag\U000e0041", "tag\\U000e0041"),
])
def test_the_escaped_form(text: str, shown: str) -> None:
    assert inert(text) == shown


@pytest.mark.parametrize("text", ["web-1", "数据库", "café", "naïve", "😀", "a b", "x\\y",
                                  "ñ", "e\u0301", "[bold]x[/]"])
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert inert(text) == text
    assert inert_lines(text) == text


def test_lines_keep_their_breaks_and_tabs_but_nothing_else() -> None:
    assert inert_lines("one\ntwo\r\n\tthree\x1b]2;x\x07") == \
        "one\ntwo\n\tthree\\x1b]2;x\\x07"
    assert inert_lines("a\rb\x85c\u2028d") == "a\\rb\\x85c\\u2028d"


ESCAPE = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[tnr])")
ANY_CHAR = st.characters(exclude_categories=())  # surrogates too


@given(st.text(alphabet=ANY_CHAR, max_size=40)
       | st.lists(st.sampled_from([*sorted(FORBIDDEN), "a", "中", " "]),
                  max_size=40).map("".join))
def test_property_no_forbidden_character_survives(text: str) -> None:
    single = inert(text)
    assert not any(forbidden(c) for c in single)
    multi = inert_lines(text)
    assert not any(forbidden(c) for c in multi if c not in "\n\t")
    assert inert(single) == single  # escaping twice changes nothing more
    if "\\" not in text:
        # Only the unsafe characters changed: without the escapes, the rest is all there.
        kept = "".join(c for c in text if unicodedata.category(c) not in UNSAFE_CATEGORIES)
        assert ESCAPE.sub("", single) == kept


@pytest.mark.parametrize(("text", "width"), [
    ("", 0), ("web-1", 5), ("数据库", 6), ("\uff57\uff45\uff42", 6), ("😀", 2), ("e\u0301", 1),
    ("café", 4), ("한국어", 6), ("a\u200db", 2),
])
def test_cell_width(text: str, width: int) -> None:
    assert cell_width(text) == width


def test_pad_counts_cells() -> None:
    assert pad("数据", 6) == "数据  "
    assert pad("ab", 6) == "ab    "
    assert cell_width(pad("😀x", 5)) == 5


def test_every_code_point_of_the_classes_is_escaped() -> None:
    for low, high in FORBIDDEN_RANGES:
        for code in range(low, high + 1):
            assert inert(chr(code)).startswith("\\"), hex(code)


@given(st.text(alphabet=ANY_CHAR, max_size=40))
def test_in_place_keeps_every_offset_and_hides_nothing(text: str) -> None:
    shown = in_place(text)
    assert len(shown) == len(text)
    assert not any(forbidden(c) for c in shown)
    assert all(s == t for s, t in zip(shown, text, strict=True)
               if unicodedata.category(t) not in UNSAFE_CATEGORIES)


def test_in_place_glyphs() -> None:
    assert in_place("a\x1b[2J\x7f\x9b\u202e") == "a\u241b[2J\u2421\ufffd\ufffd"
