"""The terminal emulator behind a console pane: pyte's screen, made fit for bursts.

pyte's own HistoryScreen wraps every attribute access in a Python-level
`__getattribute__` (11 million calls for 1 MB of output: 40 % of the time), and its
`draw` builds each cell with `namedtuple._replace`. `GuestScreen` keeps pyte's parser and
escape handling, with:

- scrollback of its own: lines scrolled off the top of the screen are kept as strings
  (characters and one style code per cell, see `compact`): ~3 bytes a cell instead of a
  dict of namedtuples, and nothing for the cyclic collector to walk;
- a resize that loses nothing (pyte drops the top lines whenever the screen gets
  shorter, even blank space below the cursor): see `resize`;
- a fast `draw` for printable ASCII runs (most console output): cells come from a
  per-attributes cache and a line is filled with one `dict.update`. Anything else
  (wide or combining characters, insert mode, no autowrap) goes through pyte's `draw`.

Imported with the first console (pyte takes ~50 ms to import), not at startup.
"""

from __future__ import annotations

from collections import deque
from itertools import repeat
from typing import Any

import pyte
from pyte import modes
from pyte.screens import Margins, StaticDefaultDict

HistoryLine = str | tuple[Any, ...]  # see `compact`

MAX_STYLES = 0xD000  # distinct cell attributes a scrollback remembers (codes below surrogates)


class _StyleCodes(dict[Any, str]):
    """A cell -> one character naming its attributes (colours, bold...), made on first use.

    Shared by every scrollback and bounded: past MAX_STYLES distinct attributes (a guest
    cycling through true colours), further ones are remembered as the default style.
    """

    def __init__(self) -> None:
        super().__init__()
        self.styles: list[tuple[Any, ...]] = []  # code -> attributes (a cell without data)
        self._index: dict[tuple[Any, ...], str] = {}

    def __missing__(self, cell: Any) -> str:
        attrs = tuple(cell[1:])
        code = self._index.get(attrs)
        if code is None:
            if len(self.styles) >= MAX_STYLES:
                return "\0"
            code = self._index[attrs] = chr(len(self.styles))
            self.styles.append(attrs)
        if len(self) < 200_000:
            self[cell] = code
        return code


_CODES = _StyleCodes()
_CODES[pyte.screens.Char(" ")]  # code 0: the default attributes
_DECODED: dict[str, Any] = {}  # character + code -> cell, for drawing the scrollback


def compact(line: Any, columns: int) -> HistoryLine:
    """A screen line (pyte's dict of cells, blanks left out) as a history line.

    Usually a str: the default cell's style code, the characters, then one style code
    per character. A str is invisible to the cyclic collector and ~3 bytes a cell (a
    tuple of cells kept every line on the collector's books: 10-13 ms per collection of
    the younger generations during a burst). Lines with wide or combining characters
    are kept as `(default, cell, cell, ...)`.
    """
    default = line.default
    width = min(columns, max(line) + 1) if line else 0
    cells = list(map(line.get, range(width), repeat(default)))
    while cells and cells[-1] == default:
        cells.pop()
    chars = [cell[0] for cell in cells]
    text = "".join(chars)
    # One character per cell: no wide character's empty right half, and (then) no
    # combined characters either, or the lengths would differ.
    if len(text) == len(cells) and "" not in chars and default[0] == " ":
        return _CODES[default] + text + "".join(map(_CODES.__getitem__, cells))
    return (default, *cells)


def cell_at(line: HistoryLine, x: int) -> Any:
    """Cell `x` of a history line."""
    if isinstance(line, tuple):
        return line[x + 1] if x + 1 < len(line) else line[0]
    width = (len(line) - 1) // 2
    key = line[1 + x] + line[1 + width + x] if x < width else " " + line[0]
    cell = _DECODED.get(key)
    if cell is None:
        if len(_DECODED) > 100_000:
            _DECODED.clear()
        cell = _DECODED[key] = pyte.screens.Char(key[0], *_CODES.styles[ord(key[1])])
    return cell


def history_text(line: HistoryLine, columns: int) -> str:
    """The characters of a history line (search, save)."""
    if isinstance(line, str):
        return line[1:1 + (len(line) - 1) // 2]
    return "".join(cell_at(line, x).data for x in range(columns)).rstrip()


class _Cells(dict[str, Any]):
    """Cells of one set of attributes, by character, made on first use."""

    def __init__(self, attrs: Any) -> None:
        super().__init__()
        self.attrs = attrs

    def __missing__(self, char: str) -> Any:
        cell = self[char] = self.attrs._replace(data=char)
        return cell


class GuestScreen(pyte.Screen):
    """pyte's screen with a bounded scrollback (`history`) and a fast path for text."""

    def __init__(self, columns: int, lines: int, history: int) -> None:
        self.history: deque[HistoryLine] = deque(maxlen=history)
        self._cells: dict[Any, _Cells] = {}
        super().__init__(columns, lines)

    # -- scrollback -----------------------------------------------------------------------
    def index(self) -> None:
        # Like xterm: a line enters the scrollback when it scrolls off the top of the
        # screen, not when it scrolls out of a region (a pager's or an editor's).
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y == bottom and top == 0:
            self.history.append(compact(self.buffer[top], self.columns))
        super().index()

    def reset(self) -> None:
        super().reset()
        self.history.clear()

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        super().erase_in_display(how, *args, **kwargs)
        if how == 3:  # "clear the scrollback too"
            self.history.clear()

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """A new size, as xterm does it: nothing the guest drew is lost.

        Shorter: rows below the cursor go first; rows above it only as far as the cursor
        must stay on screen, and those go into the scrollback. Taller: lines come back
        from the scrollback above what is there. (A console pane gets shorter when its
        search box opens: pyte's own resize deleted that many lines from the top.)
        """
        lines = lines or self.lines
        columns = columns or self.columns
        if lines == self.lines and columns == self.columns:
            return
        if lines != self.lines:
            self._fit_rows(lines)
        if columns < self.columns:
            for line in self.buffer.values():
                for x in range(columns, self.columns):
                    line.pop(x, None)
        self.lines, self.columns = lines, columns
        self.dirty.update(range(lines))
        self.set_margins()

    def _fit_rows(self, lines: int) -> None:
        cursor, buffer = self.cursor, self.buffer
        if lines < self.lines:
            shift = max(0, cursor.y + 1 - lines)  # rows that leave at the top
            for y in range(shift):
                self.history.append(compact(buffer[y], self.columns))
        else:
            shift = -min(lines - self.lines, len(self.history))  # rows that come back
        rows = {y - shift: row for y, row in buffer.items()
                if y < self.lines and 0 <= y - shift < lines}
        for y in range(-shift - 1, -1, -1):
            rows[y] = self._row(self.history.pop())
        buffer.clear()
        buffer.update(rows)
        cursor.y = max(0, min(lines - 1, cursor.y - shift))

    def _row(self, line: HistoryLine) -> Any:
        """A history line as a screen line again."""
        width = len(line) - 1 if isinstance(line, tuple) else (len(line) - 1) // 2
        row: StaticDefaultDict[int, Any] = StaticDefaultDict(cell_at(line, width))
        row.update((x, cell_at(line, x)) for x in range(min(width, self.columns)))
        return row

    # -- text -----------------------------------------------------------------------------
    def draw(self, data: str) -> None:
        data = data.translate(self.g1_charset if self.charset else self.g0_charset)
        mode = self.mode
        if not (data.isascii() and data.isprintable()) or modes.IRM in mode \
                or modes.DECAWM not in mode:
            super().draw(data)
            return
        cursor = self.cursor
        columns = self.columns
        attrs = cursor.attrs
        cells = self._cells.get(attrs)
        if cells is None:
            if len(self._cells) > 256:
                self._cells.clear()
            cells = self._cells[attrs] = _Cells(attrs)
        get = cells.__getitem__
        pos, end = 0, len(data)
        while pos < end:
            if cursor.x >= columns:  # autowrap, as pyte's draw does it
                self.dirty.add(cursor.y)
                self.carriage_return()
                self.linefeed()
            x = cursor.x
            run = data[pos:pos + columns - x]
            self.buffer[cursor.y].update(zip(range(x, x + len(run)), map(get, run), strict=True))
            cursor.x = x + len(run)
            pos += len(run)
        self.dirty.add(cursor.y)


def make_screen(columns: int, lines: int, history: int) -> tuple[GuestScreen, Any]:
    """A screen and the byte stream that feeds it."""
    screen = GuestScreen(columns, lines, history)
    return screen, pyte.ByteStream(screen)


_gc_calmed = False


def calm_gc() -> None:
    """Freeze what the app holds so far once consoles are in use.

    pyte allocates a tuple per cell it draws; every full collection then walked all of
    the app's long-lived objects too. Freezing them (they live as long as the app) cut
    the worst frame gaps of a burst (p99 120 -> 62-72 ms over 6 MB). Raising the
    thresholds as well did not help further and let memory grow faster: not done.
    """
    global _gc_calmed
    if _gc_calmed:
        return
    import gc

    gc.collect()
    gc.freeze()
    _gc_calmed = True
