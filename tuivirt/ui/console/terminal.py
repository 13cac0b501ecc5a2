"""A terminal emulator widget: guest bytes through pyte, drawn as Textual strips.

Nothing the guest sends reaches the real terminal: pyte interprets it into a grid of
cells, and only those cells (printable, one per column) are drawn. Keys typed while the
widget has focus go to the guest byte for byte; only ctrl+] is kept (back to the table).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.style import Style
from textual import events
from textual.actions import SkipAction
from textual.geometry import Region, Size
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widget import Widget

from tuivirt.text import inert, inert_lines
from tuivirt.ui.console import fastpath
from tuivirt.ui.console.drawing import TerminalDrawing, printable
from tuivirt.ui.console.keymap import DECCKM, LEAVE_KEY, key_bytes

__all__ = ["LEAVE_KEY", "GuestKeysFirst", "OwnsQuitKey", "TerminalView", "key_bytes"]

PAINT_EVERY = 0.008  # s: immediate paints (echoes) at most this often; bursts use frames


class TerminalView(TerminalDrawing, Widget, can_focus=True):
    """A pyte screen with bounded scrollback, keys to the guest, search, save (drawn by
    TerminalDrawing; keys to bytes by keymap)."""

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

    def lines(self) -> list[str]:
        """Scrollback then screen, as text (search, save)."""
        from tuivirt.ui.console.vt import history_text

        columns = self.term.columns
        out = ["".join(map(printable, history_text(line, columns))).rstrip()
               for line in self.term.history]
        out += [self._text(self.term.buffer[y].__getitem__) for y in range(self.term.lines)]
        while out and not out[-1].strip():
            out.pop()
        return out

    def _text(self, cell: Callable[[int], Any]) -> str:
        return "".join(printable(cell(x).data) for x in range(self.term.columns)).rstrip()

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
