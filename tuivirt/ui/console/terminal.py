"""A terminal emulator widget: guest bytes through pyte, drawn as Textual strips.

Nothing the guest sends reaches the real terminal: pyte interprets it into a grid of
cells, and only those cells (printable, one per column) are drawn. Keys typed while the
widget has focus go to the guest byte for byte; only ctrl+] is kept (back to the table).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from itertools import groupby, repeat
from operator import itemgetter
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.actions import SkipAction
from textual.geometry import Region, Size
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.strip import Strip
from textual.widget import Widget

from tuivirt.text import inert, inert_lines
from tuivirt.ui.console import fastpath

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
PAINT_EVERY = 0.008  # s: immediate paints (echoes) at most this often; bursts use frames


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


_CONTROLS = str.maketrans({c: " " for c in [*range(0x20), *range(0x7F, 0xA0)]})
_ATTRS = itemgetter(1, 2, 3, 4, 5, 6, 7)  # a pyte cell's attributes, without its data


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
                 send: Callable[[bytes], None] | None = None,
                 send_now: Callable[[bytes], bool] | None = None,
                 id: str | None = None) -> None:
        from tuivirt.ui.console.vt import make_screen  # pyte: ~50 ms, with the first console

        super().__init__(id=id)
        self.history = history
        self.term, self.stream = make_screen(cols, rows, history)
        self.send = send
        self.send_now = send_now  # any thread; False when it could not send
        self._armed = False  # the input thread may hand keys straight to send_now
        self._pass_keys: frozenset[str] = frozenset()
        self.back = 0  # lines scrolled back into history (0: following the guest)
        self.highlight: str | None = None
        self._cursor_y = 0
        self._painted = 0.0
        self._rows: set[int] | None = set()  # changed since paint_now; None: all of them
        self._uncommitted: set[int] | None = set()  # changed since commit; None: all
        self._base: Style | None = None  # rich_style, until the styles change
        self._plain: bool | None = None  # no gutter, tint or opacity: see plain_background
        self._background: Any = None
        self._styles: dict[tuple[Any, ...], Style] = {}  # (base, attrs, cursor) -> style

    # -- data ---------------------------------------------------------------------------
    def feed(self, data: bytes, *, commit: bool = True) -> None:
        """Guest output into the emulator. With commit=False the repaint is asked for
        by a later `commit()`, so that `paint_now` can come first (one echo's latency)."""
        term = self.term
        term.dirty.clear()
        self.stream.feed(data)
        # Repaint only the lines pyte changed (and where the cursor was and is): an echo
        # is one line, not the whole screen (a full repaint took 7-14 ms here).
        dirty = set(term.dirty)
        dirty.update((term.cursor.y, self._cursor_y))
        self._cursor_y = term.cursor.y
        if self.back or len(dirty) > term.lines // 2:
            self._rows = self._uncommitted = None  # the whole view: the compositor's job
        else:
            rows = [y for y in dirty if 0 <= y < term.lines]
            if self._rows is not None:
                self._rows.update(rows)
            if self._uncommitted is not None:
                self._uncommitted.update(rows)
        if commit:
            self.commit()

    def commit(self) -> None:
        """Ask Textual to repaint what `feed` changed since the last commit."""
        rows, self._uncommitted = self._uncommitted, set()
        if rows is None:
            self.refresh()
        elif rows:
            width = self.size.width
            self.refresh(*(Region(0, y, width, 1) for y in sorted(rows)))

    def paint_now(self) -> bool:
        """Draw what `feed` changed at once, not a few event-loop hops later
        (`fastpath.paint_now`), at most once per `PAINT_EVERY`: bursts are painted by
        frames. The usual repaint still follows, so nothing depends on this beyond
        latency; with the fast path off, that repaint is all there is."""
        now = time.perf_counter()
        rows, self._rows = self._rows, set()
        if now - self._painted < PAINT_EVERY or rows == set():
            self._rows = rows  # still to paint, next time
            self.commit()
            return False
        painted = fastpath.paint_now(self, rows)
        self.commit()  # after an immediate paint, the usual repaint: off the echo's path
        if painted:
            self._painted = now
        return painted

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

    def lines(self) -> list[str]:
        """Scrollback then screen, as text (search, save)."""
        from tuivirt.ui.console.vt import history_text

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
        self.arm(event)

    def _type(self, data: bytes) -> None:
        if self.back:
            self.back = 0  # typing follows the guest again, as terminals do
            self.highlight = None
            self.refresh()
        if self.send is not None:
            self.send(data)

    def _paste_bytes(self, text: str) -> bytes:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
        data = text.encode("utf-8", "surrogatepass")
        bracketed = (2004 << 5) in self.term.mode
        return b"\x1b[200~" + data + b"\x1b[201~" if bracketed else data

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        self._type(self._paste_bytes(event.text))
        self.arm(event)

    # -- keys straight from the input thread ----------------------------------------------
    # While armed, the driver's input thread gives keys and pastes to `take_input`, which
    # sends their bytes at once, in the order typed (`fastpath.InputRoute`). Anything it
    # does not send itself (ctrl+], the scrollback keys, the app's priority keys, a
    # click) disarms it first and goes the usual way.
    def arm(self, event: Any) -> None:
        route = fastpath.input_route(self.app)
        if self.send_now is None or not self.has_focus or self.back or route is None:
            self.disarm()
            return
        skipped = GuestKeysFirst.SKIPPED_ACTIONS
        self._pass_keys = frozenset(
            key for key, active in self.app.active_bindings.items()
            if active.binding.priority and active.binding.action not in skipped
        ) | {LEAVE_KEY, "shift+pageup", "shift+pagedown"}
        if route.arm(self, event):
            self._armed = True

    def disarm(self) -> None:
        self._armed = False
        route = fastpath.input_route(self.app)
        if route is not None:
            route.disarm(self)

    def take_input(self, event: Any) -> bool:
        """(The input thread.) True if the event's bytes went to the guest."""
        if not self._armed:
            return False
        data: bytes | None = None
        if isinstance(event, events.Key):
            if event.key not in self._pass_keys:
                data = key_bytes(event, DECCKM in self.term.mode)
        elif isinstance(event, events.Paste):
            data = self._paste_bytes(event.text)
        elif not isinstance(event, events.MouseEvent) or isinstance(event, events.MouseMove):
            return False  # resize, focus in or out, hovering: nothing to order against
        sent = False
        if data is not None and self.has_focus and self.send_now is not None:
            try:
                sent = self.send_now(data)
            except Exception:  # the usual path sends it again and reports the error
                sent = False
        if not sent:
            self._armed = False
        return sent

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.back = min(len(self.term.history), self.back + 3)
        self.refresh()
        self.arm(event)
        event.stop()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.back = max(0, self.back - 3)
        self.refresh()
        self.arm(event)
        event.stop()

    def notify_style_update(self) -> None:
        self._base = self._plain = None
        super().notify_style_update()

    def on_focus(self) -> None:
        # Not armed yet: keys typed behind whatever gave the focus may still be queued.
        # The first of them handled here (the newest) arms it.
        self._base = self._plain = None
        self.refresh()

    def on_blur(self) -> None:
        self._base = self._plain = None
        self.disarm()
        self.refresh()

    def on_unmount(self) -> None:
        self.disarm()


class OwnsQuitKey:
    """A mixin marking a widget (the XML editor's pane) whose subtree handles ctrl+q
    itself: `GuestKeysFirst` skips the app's quit while the focus is inside it."""


class GuestKeysFirst:
    """An App mixin: the focused pane's keys before the app's priority bindings.

    While a terminal has focus, ctrl+q, ctrl+p and escape (out of a maximised pane) go to
    the guest like every other key; inside the XML editor, ctrl+q is the pane's close,
    which asks about unapplied changes, not the app's quit."""

    focused: Any
    #: Priority actions skipped while a terminal has focus: their keys go to the guest
    #: (straight from the input thread, see TerminalView.arm).
    SKIPPED_ACTIONS = frozenset({"quit", "command_palette", "filter", "console"})

    def notify(self, message: str, *, title: str = "",
               severity: SeverityLevel = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every notification (widgets' too: theirs land here) is drawn inert and
        without markup: they quote daemon errors, names and file contents, whose escape
        sequences would reach the real terminal and whose `[...]` would be markup."""
        super().notify(inert_lines(message), title=inert(title),  # type: ignore[misc]
                       severity=severity, timeout=timeout, markup=False)

    def action_leave_terminal(self) -> None:
        """ctrl+] out of a focused terminal, as a priority binding: handled before any key
        behind it is passed on, so those keys (typed fast, or in one paste) go where the
        focus is next, not to the guest."""
        terminal = self.focused
        if not isinstance(terminal, TerminalView):
            raise SkipAction()
        terminal.disarm()
        self.leave_terminal(terminal)

    def leave_terminal(self, terminal: TerminalView) -> None:
        """Move the focus away from `terminal` now (synchronously)."""
        terminal.post_message(TerminalView.Leave())

    def get_driver_class(self) -> type[Any]:
        return fastpath.console_driver(super().get_driver_class())  # type: ignore[misc]

    def _terminal_focused(self) -> bool:
        return isinstance(self.focused, TerminalView)

    def _editor_focused(self) -> bool:
        """Inside the XML editor, ctrl+q is the pane's own close (it asks about the
        buffer), not the app's quit."""
        node = self.focused
        while node is not None:
            if isinstance(node, OwnsQuitKey):
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
    def input_route(self) -> fastpath.InputRoute:
        """Where the driver's input thread hands keys (see TerminalView.arm)."""
        route: fastpath.InputRoute | None = self.__dict__.get("_tuivirt_input_route")
        if route is None:
            route = self.__dict__["_tuivirt_input_route"] = fastpath.InputRoute()
        return route

    @property
    def escape_to_minimize(self) -> bool:
        if self._terminal_focused():
            return False
        return bool(super().escape_to_minimize)  # type: ignore[misc]
