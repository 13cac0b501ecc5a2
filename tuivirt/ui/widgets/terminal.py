"""A terminal emulator widget: guest bytes through pyte, drawn as Textual strips.

Nothing the guest sends reaches the real terminal: pyte interprets it into a grid of
cells, and only those cells (printable, one per column) are drawn. Keys typed while the
widget has focus go to the guest byte for byte; only ctrl+] is kept (back to the table).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.actions import SkipAction
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

DECCKM = 1 << 5  # pyte keeps private modes shifted left by 5: cursor keys mode

_ANSI = ["black", "red", "green", "brown", "blue", "magenta", "cyan", "white"]
_NAMES = {name: i for i, name in enumerate(_ANSI)}
_NAMES.update({f"bright{name}": i + 8 for i, name in enumerate(_ANSI)})
_NAMES["yellow"] = 3
_NAMES["brightyellow"] = 11

#: Textual key name -> bytes for a VT220/xterm-like guest (cursor keys: normal mode).
KEYS: dict[str, bytes] = {
    "enter": b"\r", "tab": b"\t", "shift+tab": b"\x1b[Z", "backspace": b"\x7f",
    "escape": b"\x1b", "delete": b"\x1b[3~", "insert": b"\x1b[2~",
    "home": b"\x1b[H", "end": b"\x1b[F", "pageup": b"\x1b[5~", "pagedown": b"\x1b[6~",
    "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D",
    "f1": b"\x1bOP", "f2": b"\x1bOQ", "f3": b"\x1bOR", "f4": b"\x1bOS",
    "f5": b"\x1b[15~", "f6": b"\x1b[17~", "f7": b"\x1b[18~", "f8": b"\x1b[19~",
    "f9": b"\x1b[20~", "f10": b"\x1b[21~", "f11": b"\x1b[23~", "f12": b"\x1b[24~",
    "ctrl+space": b"\x00", "ctrl+at": b"\x00", "ctrl+backslash": b"\x1c",
    "ctrl+circumflex_accent": b"\x1e", "ctrl+underscore": b"\x1f",
    "ctrl+left_square_bracket": b"\x1b",
}
_APP_CURSOR = {"up": b"\x1bOA", "down": b"\x1bOB", "right": b"\x1bOC", "left": b"\x1bOD"}
LEAVE_KEY = "ctrl+right_square_bracket"


def key_bytes(event: events.Key, app_cursor: bool = False) -> bytes | None:
    """The bytes a terminal would send for this key, or None for keys we do not send."""
    key = event.key
    if app_cursor and key in _APP_CURSOR:
        return _APP_CURSOR[key]
    if key in KEYS:
        return KEYS[key]
    if key.startswith("ctrl+") and len(key) == 6 and key[5].isalpha():
        return bytes([ord(key[5].lower()) - 96])
    if key.startswith("alt+"):
        inner = key[4:]
        if len(inner) == 1:
            return b"\x1b" + inner.encode()
        if inner in KEYS:
            return b"\x1b" + KEYS[inner]
    if event.character and event.is_printable:
        return event.character.encode("utf-8", "surrogatepass")
    return None


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


def _printable(text: str) -> str:
    """One cell's text, never a control character (those would move the real cursor)."""
    if not text:
        return " "
    code = ord(text[0])
    if code < 0x20 or 0x7F <= code < 0xA0:
        return " "
    return text


class TerminalView(Widget, can_focus=True):
    """A pyte screen with bounded scrollback, keys to the guest, search, save."""

    DEFAULT_CSS = """
    TerminalView { height: 1fr; width: 1fr; background: #101010; color: #d0d0d0; }
    TerminalView:focus { background: #000000; }
    """

    class Leave(Message):
        """ctrl+] : the user wants the table back."""

    class Resized(Message):
        def __init__(self, cols: int, rows: int) -> None:
            super().__init__()
            self.cols = cols
            self.rows = rows

    def __init__(self, *, history: int = 10_000, cols: int = 80, rows: int = 24,
                 send: Callable[[bytes], None] | None = None, id: str | None = None) -> None:
        from tuivirt.ui.widgets.vt import make_screen  # pyte: ~50 ms, with the first console

        super().__init__(id=id)
        self.history = history
        self.term, self.stream = make_screen(cols, rows, history)
        self.send = send
        self.back = 0  # lines scrolled back into history (0: following the guest)
        self.highlight: str | None = None
        self._cursor_y = 0
        self._styles: dict[tuple[Any, ...], Style] = {}

    # -- data ---------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        term = self.term
        term.dirty.clear()
        self.stream.feed(data)
        # Repaint only the lines pyte changed (and where the cursor was and is): an echo
        # is one line, not the whole screen (a full repaint took 7-14 ms here).
        dirty = set(term.dirty)
        dirty.update((term.cursor.y, self._cursor_y))
        self._cursor_y = term.cursor.y
        if self.back or len(dirty) > term.lines // 2:
            self.refresh()
        else:
            width = self.size.width
            self.refresh(*(Region(0, y, width, 1) for y in sorted(dirty)
                           if 0 <= y < term.lines))

    def lines(self) -> list[str]:
        """Scrollback then screen, as text (search, save)."""
        from tuivirt.ui.widgets.vt import history_text

        columns = self.term.columns
        out = ["".join(map(_printable, history_text(line, columns))).rstrip()
               for line in self.term.history]
        out += [self._text(self.term.buffer[y].__getitem__) for y in range(self.term.lines)]
        while out and not out[-1].strip():
            out.pop()
        return out

    def _text(self, cell: Callable[[int], Any]) -> str:
        return "".join(_printable(cell(x).data) for x in range(self.term.columns)).rstrip()

    def save(self, path: str) -> int:
        lines = self.lines()
        with open(path, "w", encoding="utf-8", errors="replace") as handle:
            handle.write("\n".join(lines) + "\n")
        return len(lines)

    def find(self, needle: str, before: int | None = None) -> int | None:
        """Scroll to the last line containing `needle` above line `before`; its index."""
        lines = self.lines()
        start = len(lines) if before is None else before
        low = needle.lower()
        for index in range(min(start, len(lines)) - 1, -1, -1):
            if low in lines[index].lower():
                history = len(self.term.history)
                # Show that line at the top of the view when it is in the history.
                self.back = max(0, history - index) if index < history else 0
                self.highlight = needle
                self.refresh()
                return index
        return None

    # -- drawing ------------------------------------------------------------------------
    def _style(self, char: Any, cursor: bool) -> Style:
        key = (char.fg, char.bg, char.bold, char.italics, char.underscore,
               char.strikethrough, char.reverse, cursor)
        style = self._styles.get(key)
        if style is None:
            style = Style(color=_colour(char.fg, None), bgcolor=_colour(char.bg, None),
                          bold=char.bold or None, italic=char.italics or None,
                          underline=char.underscore or None,
                          strike=char.strikethrough or None,
                          reverse=(char.reverse != cursor) or None)
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        term = self.term
        history = term.history
        back = min(self.back, len(history))
        base = self.rich_style
        if y < back:
            from tuivirt.ui.widgets.vt import cell_at

            cell_of: Callable[[int], Any] = partial(cell_at, history[len(history) - back + y])
            row = None
        else:
            row = y - back
            if row >= term.lines:
                return Strip.blank(width, base)
            cell_of = term.buffer[row].__getitem__
        show_cursor = (self.has_focus and back == 0 and row == term.cursor.y
                       and not term.cursor.hidden)
        segments: list[Segment] = []
        text: list[str] = []
        current: Style | None = None
        skip = False
        for x in range(min(term.columns, width)):
            char = cell_of(x)
            if skip and char.data == "":
                skip = False
                continue  # the right half of a wide character
            skip = False
            style = self._style(char, show_cursor and x == term.cursor.x)
            if style is not current:
                if text:
                    segments.append(Segment("".join(text), base + current
                                            if current else base))
                text = []
                current = style
            cell = _printable(char.data)
            if len(cell) > 1:
                cell = cell[0]
            text.append(cell)
            skip = True
        if text:
            segments.append(Segment("".join(text), base + current if current else base))
        strip = Strip(segments).adjust_cell_length(width, base)
        if self.highlight and y < back:
            plain = "".join(s.text for s in segments).lower()
            at = plain.find(self.highlight.lower())
            if at >= 0:
                end = at + len(self.highlight)
                strip = Strip.join([strip.crop(0, at),
                                    strip.crop(at, end).apply_style(Style(reverse=True)),
                                    strip.crop(end, width)])
        return strip

    # -- size -----------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        cols, rows = max(2, event.size.width), max(2, event.size.height)
        if (cols, rows) != (self.term.columns, self.term.lines):
            self.term.resize(lines=rows, columns=cols)
            self.refresh()
            self.post_message(self.Resized(cols, rows))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.term.lines

    # -- keys -----------------------------------------------------------------------------
    async def _on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.key == LEAVE_KEY:
            self.post_message(self.Leave())
            return
        if event.key in ("shift+pageup", "shift+pagedown"):
            page = max(1, self.size.height - 1)
            step = page if event.key == "shift+pageup" else -page
            self.back = max(0, min(len(self.term.history), self.back + step))
            self.refresh()
            return
        data = key_bytes(event, DECCKM in self.term.mode)
        if data is not None:
            self._type(data)

    def _type(self, data: bytes) -> None:
        if self.back:
            self.back = 0  # typing follows the guest again, as terminals do
            self.highlight = None
            self.refresh()
        if self.send is not None:
            self.send(data)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        text = event.text.replace("\r\n", "\r").replace("\n", "\r")
        bracketed = (2004 << 5) in self.term.mode
        data = text.encode("utf-8", "surrogatepass")
        self._type(b"\x1b[200~" + data + b"\x1b[201~" if bracketed else data)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.back = min(len(self.term.history), self.back + 3)
        self.refresh()
        event.stop()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.back = max(0, self.back - 3)
        self.refresh()
        event.stop()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


class GuestKeysFirst:
    """An App mixin: the focused pane's keys before the app's priority bindings.

    While a terminal has focus, ctrl+q, ctrl+p and escape (out of a maximised pane) go to
    the guest like every other key; inside the XML editor, ctrl+q is the pane's close,
    which asks about unapplied changes, not the app's quit."""

    focused: Any

    def _terminal_focused(self) -> bool:
        return isinstance(self.focused, TerminalView)

    def _editor_focused(self) -> bool:
        """Inside the XML editor, ctrl+q is the pane's own close (it asks about the
        buffer), not the app's quit."""
        node = self.focused
        while node is not None:
            if type(node).__name__ == "EditorPane":
                return True
            node = node.parent
        return False

    async def action_quit(self) -> None:
        if self._terminal_focused() or self._editor_focused():
            raise SkipAction()
        await super().action_quit()  # type: ignore[misc]

    def action_command_palette(self) -> None:
        if self._terminal_focused():
            raise SkipAction()
        super().action_command_palette()  # type: ignore[misc]

    @property
    def escape_to_minimize(self) -> bool:
        if self._terminal_focused():
            return False
        return bool(super().escape_to_minimize)  # type: ignore[misc]
