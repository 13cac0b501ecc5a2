"""Drawing the terminal: pyte's cells as Textual strips, one run of like cells a segment.

Nothing the guest sends reaches the real terminal: only cells (printable, one per
column) are drawn; control characters become spaces.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from itertools import groupby, repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

_ANSI = ["black", "red", "green", "brown", "blue", "magenta", "cyan", "white"]
_NAMES = {name: i for i, name in enumerate(_ANSI)}
_NAMES.update({f"bright{name}": i + 8 for i, name in enumerate(_ANSI)})
_NAMES["yellow"] = 3
_NAMES["brightyellow"] = 11


def _colour(value: str, default: str | None) -> str | None:
    if value == "default":
        return default
    index = _NAMES.get(value)
    if index is not None:
        return f"color({index})"
    if len(value) == 6:
        try:
            int(value, 16)
        except ValueError:
            return default
        return f"#{value}"
    return default


_CONTROLS = str.maketrans({c: " " for c in [*range(0x20), *range(0x7F, 0xA0)]})
_ATTRS = itemgetter(1, 2, 3, 4, 5, 6, 7)  # a pyte cell's attributes, without its data


def printable(text: str) -> str:
    """One cell's text, never a control character (those would move the real cursor)."""
    if not text:
        return " "
    code = ord(text[0])
    if code < 0x20 or 0x7F <= code < 0xA0:
        return " "
    return text


if TYPE_CHECKING:
    from tuivirt.ui.console.vt import GuestScreen  # pyte: imported with the first console

    _Base = Widget
else:
    _Base = object


class TerminalDrawing(_Base):
    """TerminalView's drawing (a mixin): its pyte screen and scrollback as strips."""

    term: GuestScreen  # pyte's screen, with its scrollback
    back: int  # lines scrolled back into history
    highlight: str | None  # the search's needle, shown reversed in the history
    _base: Style | None
    _plain: bool | None
    _background: Any
    _styles: dict[tuple[Any, ...], Style]

    def plain_background(self) -> Any | None:
        """The background to filter lines over when `render_line` is all there is to
        them (no border, padding, tint or opacity for Textual to add); else None."""
        plain = self._plain
        if plain is None:
            styles = self.styles
            plain = self._plain = (not any(styles.gutter) and styles.tint.a == 0
                                   and styles.opacity == 1 and styles.text_opacity == 1)
            self._background = self.background_colors[1]
        return self._background if plain else None

    def _segment(self, cells: list[Any], attrs: tuple[Any, ...], cursor: bool,
                 base: Style) -> Segment:
        """One run of cells with the same attributes (pyte's fg, bg, bold, italics,
        underscore, strikethrough, reverse), over the widget's own style."""
        key = (base, attrs, cursor)
        style = self._styles.get(key)
        if style is None:
            if len(self._styles) > 4096:  # a guest cycling through colours
                self._styles.clear()
            fg, bg, bold, italics, underscore, strike, reverse = attrs
            style = base + Style(color=_colour(fg, None), bgcolor=_colour(bg, None),
                                 bold=bold or None, italic=italics or None,
                                 underline=underscore or None, strike=strike or None,
                                 reverse=(reverse != cursor) or None)
            self._styles[key] = style
        return Segment("".join([cell[0] for cell in cells]).translate(_CONTROLS), style)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        term = self.term
        history = term.history
        back = min(self.back, len(history))
        base = self._base
        if base is None:
            # Walks every ancestor's styles (~0.1 ms), and refresh() drops Textual's own
            # cache of it: kept here until the styles change (focus, theme).
            base = self._base = self.rich_style
        if y < back:
            from tuivirt.ui.console.vt import cell_at

            cell_of: Callable[[int], Any] = partial(cell_at, history[len(history) - back + y])
            row = None
        else:
            row = y - back
            if row >= term.lines:
                return Strip.blank(width, base)
            cell_of = term.buffer[row].__getitem__
        show_cursor = (self.has_focus and back == 0 and row == term.cursor.y
                       and not term.cursor.hidden)
        columns = min(term.columns, width)
        if row is None:
            cells = [cell_of(x) for x in range(columns)]
        else:
            line = term.buffer[row]
            cells = list(map(line.get, range(columns), repeat(line.default)))
        cursor_x = term.cursor.x if show_cursor else -1
        segments: list[Segment] = []
        x = 0
        # Runs of cells with the same attributes become one segment each. The empty
        # right half of a wide character adds no text; control characters become spaces.
        for attrs, group in groupby(cells, _ATTRS):
            run = list(group)
            end = x + len(run)
            if x <= cursor_x < end:
                at = cursor_x - x
                for part, cursor in ((run[:at], False), (run[at:at + 1], True),
                                     (run[at + 1:], False)):
                    if part:
                        segments.append(self._segment(part, attrs, cursor, base))
            else:
                segments.append(self._segment(run, attrs, False, base))
            x = end
        strip = Strip(segments).adjust_cell_length(width, base)
        if self.highlight and y < back:
            plain = "".join(segment.text for segment in segments).lower()
            at = plain.find(self.highlight.lower())
            if at >= 0:
                end = at + len(self.highlight)
                strip = Strip.join([strip.crop(0, at),
                                    strip.crop(at, end).apply_style(Style(reverse=True)),
                                    strip.crop(end, width)])
        return strip
