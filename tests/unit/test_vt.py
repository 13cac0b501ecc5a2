"""GuestScreen (our fast pyte screen) against pyte's own HistoryScreen, on any stream.

The fast text path and the scrollback of our own must not change what a guest's output
looks like: the same cells (characters and attributes), cursor and modes as pyte, for
printable runs, wrapping, insert mode, charsets, wide and combining characters, resets.
"""

from __future__ import annotations

import re

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st

from tuivirt.ui.console.vt import cell_at, make_screen

ESC = b"\x1b"
COLS, ROWS = 20, 6
fragments = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=70)
    .map(str.encode),
    st.binary(max_size=30),
    st.sampled_from([
        b"\r\n", b"\n", b"\r", b"\x08", b"\t", b"\x0e", b"\x0f",  # SO/SI: G1/G0 charsets
        b"\x1b(0", b"\x1b(B", b"\x1b)0",  # DEC line drawing
        b"\x1b[4h", b"\x1b[4l",  # insert mode
        b"\x1b[?7l", b"\x1b[?7h",  # autowrap off/on
        b"\x1b[31;1m", b"\x1b[0m", b"\x1b[7m", b"\x1b[44m",
        b"\x1b[2J", b"\x1b[3J", b"\x1b[K", b"\x1b[H", b"\x1b[5;18H", b"\x1b[2@",
        b"\x1b[3P", b"\x1b[L", b"\x1b[M", b"\x1bc", b"\x1bD", b"\x1bM", b"\x1bE",
        b"\x1b[?25l", b"\x1b[?25h",
        "漢字é\u0301\u200bx".encode(),
    ]),
)
streams = st.lists(fragments, max_size=40).map(b"".join)
SETS_MARGINS = re.compile(rb"\x1b\[[0-9;]*r")


def cells(screen: pyte.Screen) -> list[list[object]]:
    return [[screen.buffer[y][x] for x in range(screen.columns)] for y in range(screen.lines)]


@settings(max_examples=400, deadline=None)
@given(streams, st.integers(1, 7))
def test_same_screen_as_pyte(data: bytes, step: int) -> None:
    ours, our_stream = make_screen(COLS, ROWS, 50)
    theirs = pyte.HistoryScreen(COLS, ROWS, history=50)
    their_stream = pyte.ByteStream(theirs)
    for at in range(0, len(data), step):  # fed in pieces, as a transport delivers it
        our_stream.feed(data[at:at + step])
        their_stream.feed(data[at:at + step])
    assert cells(ours) == cells(theirs)
    assert (ours.cursor.x, ours.cursor.y, ours.cursor.hidden) == (
        theirs.cursor.x, theirs.cursor.y, theirs.cursor.hidden)
    assert ours.mode == theirs.mode
    if not SETS_MARGINS.search(data):  # pyte also keeps lines scrolled out of a region
        theirs_history = [[line[x] for x in range(COLS)] for line in theirs.history.top]
        ours_history = [[cell_at(line, x) for x in range(COLS)] for line in ours.history]
        assert ours_history == theirs_history


def test_scrollback_is_bounded_and_cheap() -> None:
    import gc

    screen, stream = make_screen(80, 24, 100)
    stream.feed(b"".join(b"line %d\r\n" % i for i in range(1000)))
    assert len(screen.history) == 100
    assert "".join(cell_at(screen.history[-1], x).data for x in range(8)) == "line 976"
    # Kept as text (one style code per cell), out of the cyclic collector's way.
    assert all(isinstance(line, str) for line in screen.history)
    gc.collect()
    assert not gc.is_tracked(screen.history[0])


def test_lines_scrolled_inside_a_region_stay_out_of_the_scrollback() -> None:
    screen, stream = make_screen(20, 6, 100)
    stream.feed(b"\x1b[2;5r\x1b[5;1H" + b"pager\r\n" * 10)  # a pager's scroll region
    assert len(screen.history) == 0
    stream.feed(b"\x1b[r\x1b[6;1H" + b"shell\r\n" * 3)
    assert len(screen.history) == 3


def rows(screen: pyte.Screen) -> list[str]:
    return ["".join(screen.buffer[y][x].data for x in range(screen.columns)).rstrip()
            for y in range(screen.lines)]


def everything(screen: pyte.Screen) -> list[str]:
    """The scrollback then the screen, trailing blank rows left out."""
    out = ["".join(cell_at(line, x).data for x in range(screen.columns)).rstrip()
           for line in screen.history] + rows(screen)
    while out and not out[-1]:
        out.pop()
    return out


def test_a_shorter_screen_keeps_what_is_above_the_cursor() -> None:
    # A prompt at the top of a cleared screen: the pane's search box opens (two rows
    # fewer); pyte alone deleted the prompt.
    screen, stream = make_screen(20, 6, 100)
    stream.feed(b"\x1b[2J\x1b[H\x1b[1mtiny# \x1b[0m")
    screen.resize(lines=4)
    assert rows(screen)[0] == "tiny#" and screen.buffer[0][0].bold
    assert (screen.cursor.y, screen.cursor.x, len(screen.history)) == (0, 6, 0)


def test_shrinking_under_a_full_screen_scrolls_into_the_scrollback_and_back() -> None:
    screen, stream = make_screen(20, 6, 100)
    stream.feed(b"".join(b"\x1b[3%dmrow-%d\x1b[0m\r\n" % (i % 8, i) for i in range(12))
                + b"tiny# ls")
    before = everything(screen)
    screen.resize(lines=4)
    assert everything(screen) == before  # nothing lost: the top rows went to the scrollback
    assert rows(screen) == ["row-9", "row-10", "row-11", "tiny# ls"]
    assert (screen.cursor.y, screen.cursor.x) == (3, 8)
    stream.feed(b"x\r\n$ ")  # the guest goes on where the cursor is
    assert rows(screen)[-2:] == ["tiny# lsx", "$"]
    screen.resize(lines=8)  # taller: lines come back from the scrollback
    assert everything(screen)[-3:] == ["row-11", "tiny# lsx", "$"]
    assert rows(screen)[0] == "row-6" and screen.cursor.y == 7
    screen.resize(lines=6)
    screen.resize(lines=8)
    assert rows(screen)[0] == "row-6"


def test_shrink_then_grow_gives_the_same_screen_back() -> None:
    screen, stream = make_screen(20, 6, 100)
    stream.feed(b"".join(b"\x1b[4%dmline %d\x1b[0m\r\n" % (i % 8, i) for i in range(9))
                + b"\x1b[1;32mok\x1b[0m")
    before, cursor = cells(screen), (screen.cursor.x, screen.cursor.y)
    screen.resize(lines=3)
    screen.resize(lines=6)
    assert cells(screen) == before and (screen.cursor.x, screen.cursor.y) == cursor
