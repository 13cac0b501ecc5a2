"""Property: no byte stream from a guest crashes the console or draws outside its pane."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widgets import Static

from tuivirt.ui.console.terminal import TerminalView

ESC = b"\x1b"
# Fragments a hostile or broken guest could send: CSI/OSC/DCS with odd parameters,
# cursor moves far outside the screen, mode switches, C1 controls, invalid UTF-8.
fragments = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda p, f: ESC + b"[" + p + f, st.binary(max_size=12),
              st.sampled_from([b"H", b"J", b"K", b"m", b"r", b"h", b"l", b"A", b"@",
                               b"P", b"X", b"L", b"M", b"S", b"T", b"n", b"c", b"q"])),
    st.builds(lambda n: ESC + b"[" + str(n).encode() + b";" + str(n).encode() + b"H",
              st.integers(-(10**9), 10**9)),
    st.builds(lambda t: ESC + b"]0;" + t + b"\x07", st.binary(max_size=40)),
    st.builds(lambda t: ESC + b"P" + t + ESC + b"\\", st.binary(max_size=40)),
    st.sampled_from([b"\x9b31m", b"\x1b[?1049h", b"\x1b[?25l", b"\x1b#8", b"\x1bc",
                     b"\xff\xfe", b"\xe2\x82", "é漢\u200b\u0301".encode(), b"\r\n", b"\x08"]),
)
streams = st.lists(fragments, max_size=60).map(b"".join)


def strips_are_clean(strips: Iterable[Strip], width: int) -> bool:
    """Every line exactly `width` cells, no control characters."""
    for strip in strips:
        if strip.cell_length != width:
            return False
        for segment in strip:
            if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in segment.text):
                return False
    return True


class Boxed(App[None]):
    """A terminal between two fixed widgets: what they show must never change."""

    CSS = "TerminalView { height: 10; } Static { height: 1; }"

    def compose(self) -> ComposeResult:
        yield Static("ABOVE-THE-PANE", id="above")
        yield TerminalView(cols=40, rows=10, history=50)
        yield Static("BELOW-THE-PANE", id="below")


async def exercise(data: bytes) -> None:
    app = Boxed()
    async with app.run_test(size=(40, 12)) as pilot:
        terminal = app.query_one(TerminalView)
        for start in range(0, len(data), 97):  # in odd-sized chunks, as a stream comes
            terminal.feed(data[start:start + 97])
        await pilot.pause()
        width = terminal.size.width
        assert strips_are_clean((terminal.render_line(y) for y in range(terminal.size.height)),
                                width)
        terminal.back = 5  # the scrollback view too
        assert strips_are_clean((terminal.render_line(y) for y in range(terminal.size.height)),
                                width)
        terminal.lines()
        svg = app.export_screenshot()  # the whole screen renders
        assert "ABOVE-THE-PANE" in svg and "BELOW-THE-PANE" in svg
        assert str(app.query_one("#above", Static).render()) == "ABOVE-THE-PANE"
        assert str(app.query_one("#below", Static).render()) == "BELOW-THE-PANE"
        assert app.query_one("#above").region.y == 0
        assert app.query_one("#below").region.y == 11


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams)
def test_any_guest_output_stays_inside_the_pane(data: bytes) -> None:
    asyncio.run(exercise(data))
