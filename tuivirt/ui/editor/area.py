"""The editor's text area: a TextArea that draws control and bidi characters as glyphs,
marks the line of the current XML problem and takes keys in the order they were typed."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingsMap
from textual.strip import Strip
from textual.widgets import TextArea

from tuivirt.text import in_place

_PROBLEM_STYLE = Style(color="white", bgcolor="red", bold=True)


def displayable(text: str) -> str:
    """Lone surrogates (bytes that were not UTF-8, read with surrogateescape) as U+FFFD.

    Textual's document encodes its text as UTF-8 and raises on them; they can only come
    from outside (a file, $EDITOR's output), never from typing.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def _drawable(strip: Strip) -> Strip:
    """The line as drawn, its control, bidi and invisible characters each shown as one
    visible glyph (`␛`, `�`). XML 1.0 allows C1 controls (U+009B is CSI) and bidi
    overrides in text and attributes, and TextArea would write them to the terminal.
    Only the drawing changes: the buffer, cursor and selection keep the exact text
    (those characters count 0 cells there, so the line ends a cell earlier per glyph)."""
    segments = list(strip)
    if all(segment.text.isprintable() for segment in segments):
        return strip
    shown = [segment if segment.text.isprintable() else
             Segment(in_place(segment.text), segment.style, segment.control)
             for segment in segments]
    return Strip(shown).adjust_cell_length(strip.cell_length)


# The TextArea's own keys (cursor moves, selection, delete, undo...), by key.
_AREA_KEYS = BindingsMap(TextArea.BINDINGS).key_to_bindings


class XMLArea(TextArea):
    """A code TextArea whose gutter marks the line of the current XML problem, and whose
    keys take effect in the order they were typed."""

    problem_line: int | None = None  # 0-based

    def render_line(self, y: int) -> Strip:
        strip = _drawable(super().render_line(y))
        if self.problem_line is None or self.soft_wrap:
            return strip
        if self.scroll_offset.y + y != self.problem_line:
            return strip
        gutter = self.gutter_width or strip.cell_length
        return Strip.join([strip.crop(0, gutter).apply_style(_PROBLEM_STYLE),
                           strip.crop(gutter, strip.cell_length)])

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            # Not TextArea's "focus the next widget" (Textual calls each class's _on_key
            # unless prevented; the next widget was the host list once it took focus):
            # the pane's binding takes the user back to the table.
            event.prevent_default()
            return
        if self.read_only and event.is_printable:
            # Typed into a read-only view, a letter must not fall through to the table's
            # keys (r reboots, S shuts down... the guest under the cursor, maybe another).
            event.stop()
            event.prevent_default()
            return
        # Textual runs a widget's key bindings only once the key has bubbled up to the
        # app, one message queue per ancestor, while a letter is inserted here at once:
        # in a burst read in one go (`Down End Z`), Z landed before the cursor moved.
        # Our own bindings run here instead, in arrival order. The focused widget's
        # bindings come first in Textual's chain anyway, so which action runs is the
        # same; an action that declines (check_action) still bubbles as before.
        for binding in _AREA_KEYS.get(event.key, ()):
            if await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return
        await super()._on_key(event)
