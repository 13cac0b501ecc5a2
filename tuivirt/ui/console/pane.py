"""The console pane: one guest's console, connected, reconnected, searchable, saved."""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from tuivirt.backends.console.buffer import ConsoleBuffer
from tuivirt.backends.console.transport import Transport
from tuivirt.errors import ConsoleBusy, ReadOnlyError, TuivirtError, message_of
from tuivirt.model import Guest
from tuivirt.text import inert
from tuivirt.ui.common.workers import ThreadJobs
from tuivirt.ui.console import fastpath
from tuivirt.ui.console.reconnect import Reconnect
from tuivirt.ui.console.terminal import TerminalView

if TYPE_CHECKING:
    from tuivirt.inventory import Diff
    from tuivirt.session import Fleet

FEED_SLICE = 0.020  # s of terminal emulation per turn, then a frame: gaps stay under 100 ms
FEED_CHUNK = 2048  # pyte (our fast screen) takes ~1-2 ms per 2 KB of text
TYPE_AHEAD = 4096  # bytes typed while a console opens, kept and sent once it has


class ConsolePane(ThreadJobs, Vertical):
    """Header (guest, transport, state), the terminal, and a scrollback search box.

    Disconnected, it reconnects when the session's news says its guest runs again (or
    its host or endpoint is back): the app's `fleet_changed` signal, in the full app and
    in `tuivirt console` alike. A failed open is retried with backoff while the guest runs.
    """

    ALLOW_MAXIMIZE = True  # f2 (a container: Textual would only maximise focusable ones)

    DEFAULT_CSS = """
    ConsolePane { height: 1fr; }
    ConsolePane #con-header { height: 1; padding: 0 1; background: $primary 30%; }
    ConsolePane #con-header.-down { background: $error 40%; }
    ConsolePane #con-search { height: 1; border: none; padding: 0 1; background: $panel; }
    """

    class Data(Message):
        """Bytes are waiting in `buffer` (posted from the transport's thread)."""

        def __init__(self, buffer: ConsoleBuffer) -> None:
            super().__init__()
            self.buffer = buffer

    class Leave(Message):
        def __init__(self, pane: ConsolePane) -> None:
            super().__init__()
            self.pane = pane

    def __init__(self, fleet: Fleet, guest: Guest, address: str, *, via: str = "auto",
                 history: int = 10_000, leave_hint: str = "ctrl+] back to the table",
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.leave_hint = leave_hint
        self.fleet = fleet
        self.guest = guest
        self.address = address
        self.via = via
        self.history = history
        self.transport: Transport | None = None
        self.buffer: ConsoleBuffer | None = None
        self.state = "connecting"
        self.detail = ""
        self.user_closed = False
        self._drain_scheduled = False
        self._retry: Timer | None = None
        self._search_from: int | None = None
        self._opening = False
        self._recheck = False
        self.reconnect = Reconnect()
        self._typed_ahead = bytearray()  # keys typed while the console opens
        # An open ending after the pane closed: its transport is closed, not dropped.
        self._handoff = threading.Lock()
        self._unclaimed: Transport | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="con-header", markup=False)  # names and daemon errors: inert
        yield TerminalView(history=self.history, send=self.send, send_now=self.send_now,
                           id="con-term")
        search = Input(placeholder="search the scrollback (enter: older match, esc: close)",
                       id="con-search")
        search.display = False
        yield search

    @property
    def terminal(self) -> TerminalView:
        return self.query_one(TerminalView)

    def on_mount(self) -> None:
        from tuivirt.ui.console.vt import calm_gc  # the terminal imported pyte already

        self._waker = fastpath.Waker(self)
        calm_gc()
        self.update_header()
        news = getattr(self.app, "fleet_changed", None)
        if news is not None:  # both apps forward the session's news (guests, hosts)
            news.subscribe(self, self._fleet_changed)
        self.connect()

    def update_header(self) -> None:
        transport = self.transport.label if self.transport else ""
        parts = [f"▶ {self.address}", self.state + (f": {self.detail}" if self.detail else "")]
        if transport:
            parts.append(transport)
        parts.append(self.leave_hint)
        header = self.query_one("#con-header", Static)
        header.update(inert(" · ".join(parts)))
        header.set_class(self.state not in ("connected", "connecting"), "-down")

    # -- connecting ---------------------------------------------------------------------
    def connect(self, force: bool = False) -> None:
        if self.transport is not None or self._opening:
            return  # connected, or an open is on its way (a slow host): one at a time
        self._opening = True
        self.state, self.detail = "connecting", ("taking over" if force else "")
        self.update_header()
        buffer = ConsoleBuffer(lambda: self._wake_from_thread(buffer))
        self.buffer = buffer
        size = self.terminal.term
        self.in_thread(partial(self._open, buffer, force, size.columns, size.lines),
                       partial(self._opened, buffer), what=f"{self.address}: open the console",
                       group="console-open")

    def _wake_from_thread(self, buffer: ConsoleBuffer) -> None:
        """(A transport's thread.) Data or the end is waiting in `buffer`.

        An event-loop callback (`fastpath.Waker`), or on the plain route a message
        through the pane's queue. Never blocks the transport.
        """
        self._waker.wake(partial(self._data_now, buffer), partial(self.Data, buffer))

    def _data_now(self, buffer: ConsoleBuffer) -> None:
        if buffer is not self.buffer or self._drain_scheduled or not self.is_attached:
            return
        try:
            self._drain()
        except Exception:  # fail where Textual reports errors: in a message handler
            self.post_message(self.Data(buffer))

    def _open(self, buffer: ConsoleBuffer, force: bool, cols: int,
              rows: int) -> Transport | Exception:
        """(A thread.) The transport, or why not: each cause has its own answer."""
        try:
            transport = self.fleet.session(self.guest.host).open_console(
                self.guest, buffer, force=force, via=self.via, cols=cols, rows=rows)
        except Exception as exc:  # told by _opened (a library's surprise too)
            return exc
        with self._handoff:
            if not self.user_closed:
                self._unclaimed = transport
                return transport
        transport.close()  # closed while it opened: never shown, never held
        return TuivirtError("closed while it opened")

    def _opened(self, buffer: ConsoleBuffer, outcome: Transport | Exception) -> None:
        with self._handoff:
            self._unclaimed = None
        if isinstance(outcome, ConsoleBusy):
            self._busy(outcome.message, buffer)
        elif isinstance(outcome, ReadOnlyError):
            self._refused(outcome.message, buffer)
        elif isinstance(outcome, TuivirtError):
            self._down(outcome.message, buffer)
        elif isinstance(outcome, Exception):  # a library error we did not expect
            self._down(f"{type(outcome).__name__}: {outcome}", buffer)
        else:
            self._connected(outcome, buffer)

    def _connected(self, transport: Transport, buffer: ConsoleBuffer) -> None:
        self._opening = False
        if self.user_closed or buffer is not self.buffer:
            transport.close()
            return
        self.transport = transport
        self.state, self.detail = "connected", ""
        self.reconnect.connected()
        self._stop_retry()
        self.update_header()
        # Opened before the first layout, maybe: the far end gets the pane's real size.
        term = self.terminal.term
        self._resize(transport, term.columns, term.lines)
        if self.guest.kind != "docker":
            # A serial console shows nothing until the guest writes: ask for a prompt.
            self.send(b"\r")
        if self._typed_ahead:  # what the user typed while it opened, as virsh keeps it
            typed, self._typed_ahead = bytes(self._typed_ahead), bytearray()
            self.send(typed)

    def _drop_typed_ahead(self) -> None:
        if self._typed_ahead:
            self.notify(f"{self.address}: {len(self._typed_ahead)} bytes typed while the "
                        "console opened were not sent", severity="warning", timeout=6)
            self._typed_ahead = bytearray()

    def _busy(self, message: str, buffer: ConsoleBuffer) -> None:
        from tuivirt.ui.common.confirm import ConfirmScreen

        self._opening = False
        if buffer is not self.buffer or self.user_closed:
            return
        self.buffer = None
        self._drop_typed_ahead()
        self.state, self.detail = "busy", "another client holds this console"
        self.update_header()

        def decided(ok: bool | None) -> None:
            if ok:
                self.connect(force=True)
            else:
                self.detail = "another client holds it (F5 to take it over)"
                self.update_header()

        self.app.push_screen(ConfirmScreen(
            f"The console of {self.address} is in use", [
                f"{self.address}: {message}",
                "Taking it over disconnects the other client."],
            confirm_label="Take over"), decided)

    def _refused(self, reason: str, buffer: ConsoleBuffer) -> None:
        """Final: a read-only host; no retries."""
        self._opening = False
        if buffer is not self.buffer:
            return
        self.buffer = None
        self._drop_typed_ahead()
        self.state, self.detail = "refused", reason
        self._stop_retry()
        self.update_header()
        self.notify(reason, severity="error", timeout=6)

    def _down(self, reason: str, buffer: ConsoleBuffer) -> None:
        self._opening = False
        if buffer is not self.buffer or self.user_closed:
            return
        self.buffer = None
        self._drop_typed_ahead()
        self.state, self.detail = "disconnected", reason
        self.update_header()
        self._retry_at(self.reconnect.open_failed(reason))

    # -- data ------------------------------------------------------------------------------
    @on(Data)
    def data_ready(self, message: Data) -> None:
        if message.buffer is self.buffer and not self._drain_scheduled:
            self._drain()

    def _drain(self) -> None:
        self._drain_scheduled = False
        buffer = self.buffer
        if buffer is None:
            return
        terminal = self.terminal
        start = time.perf_counter()
        while True:
            chunk = buffer.take(FEED_CHUNK)
            if not chunk:
                break
            terminal.feed(chunk, commit=False)
            if time.perf_counter() - start > FEED_SLICE:
                terminal.commit()
                # More to do: after the next frame, so the rest of the UI paints too.
                self._drain_scheduled = True
                self.call_after_refresh(self._drain)
                return
        terminal.paint_now()
        if buffer.closed_reason is not None and buffer.size == 0:
            self._transport_closed(buffer.closed_reason)

    def _transport_closed(self, reason: str) -> None:
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.close()
        self.buffer = None
        if self.user_closed:
            return
        self.state, self.detail = "disconnected", reason
        self.update_header()
        self._recheck = True  # first, one fresh look at the guest (see _retry_due)
        self._retry_at(self.reconnect.console_ended(reason))

    # -- reconnecting: when the session says the guest runs again ------------------------
    def _retry_at(self, when: float) -> None:
        """Ask the session again at `when` (once): after a console ended or failed."""
        self._stop_retry()
        if not self.user_closed:
            self._retry = self.set_timer(max(0.0, when - time.monotonic()), self._retry_due)

    def _retry_due(self) -> None:
        self._retry = None
        if self._recheck:  # the console ended: its guest's event may still be on its way
            self._recheck = False
            self.in_thread(partial(self.fleet.session(self.guest.host).recheck, self.guest),
                           lambda _: self._reconsider(), what=f"{self.address}: look at the "
                           "guest", group="console-check")
            return
        self._reconsider()

    def _stop_retry(self) -> None:
        if self._retry is not None:
            self._retry.stop()
            self._retry = None

    def _fleet_changed(self, diff: Diff) -> None:
        """The session's news (UI thread): is any of it about this guest or its host?"""
        guest = self.guest
        if (guest.key in diff.removed or any(s.name == guest.host for s in diff.hosts)
                or any(g.key == guest.key or (g.host == guest.host and g.id == guest.id)
                       for g in (*diff.added, *diff.changed))):
            self._reconsider()

    def _reconsider(self) -> None:
        """Not connected: open now if the session says the console can (the guest runs on
        an endpoint that answers), else say what it waits for. Asks no daemon."""
        if (self.user_closed or self.transport is not None or self._opening
                or self.state in ("busy", "refused")):
            return  # busy: the user decides (F5); refused: final
        fresh, why = self.fleet.session(self.guest.host).console_outlook(self.guest)
        if fresh is not None:
            self.guest = fresh
        when, note = self.reconnect.outlook(why, gone=fresh is None)
        if when is None:  # news will say when
            self._stop_retry()
            if note != self.detail:
                self.detail = note
                self.update_header()
        elif when <= time.monotonic():
            self._stop_retry()
            self.connect()  # the guest runs again, or its host is back: at once
        elif self._retry is None:
            self._retry_at(when)  # a failed open's backoff, while the guest runs

    # -- keys and commands ------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            if self.state == "connecting" and len(self._typed_ahead) + len(data) <= TYPE_AHEAD:
                self._typed_ahead += data  # sent once it opens
                return
            self.notify(f"{self.address}: console {self.state}, not sent", severity="warning",
                        timeout=2)
            return
        try:
            transport.send(data)
        except TuivirtError as exc:
            self.notify(f"{self.address}: {message_of(exc)}", severity="error")

    def send_now(self, data: bytes) -> bool:
        """Send from any thread (keys from the input thread); False if not sent."""
        transport = self.transport
        if transport is None:
            return False
        try:
            transport.send(data)
        except TuivirtError:
            return False
        return True

    @on(TerminalView.Resized)
    def resized(self, event: TerminalView.Resized) -> None:
        if self.transport is not None:
            self._resize(self.transport, event.cols, event.rows)

    def _resize(self, transport: Transport, cols: int, rows: int) -> None:
        """The far end's size (a daemon call: off the UI thread)."""
        self.in_thread(partial(transport.resize, cols, rows),
                       what=f"{self.address}: resize the console", group="console-resize")

    @on(TerminalView.Leave)
    def leave(self) -> None:
        self.post_message(self.Leave(self))

    def take_over(self) -> None:
        """F5: reconnect now; offers a forced takeover when someone else holds it."""
        if self.transport is not None:
            self.notify(f"{self.address}: already connected", timeout=2)
            return
        self.reconnect.asked()
        self._stop_retry()
        # Endpoints down are opened again now, not at their backoff; the news that they
        # are back reconnects (opening now would take the SSH fallback instead).
        retry_now = getattr(self.fleet.session(self.guest.host), "retry_now", None)
        if retry_now is not None and retry_now():
            self._reconsider()
            return
        self.connect()

    def start_search(self) -> None:
        search = self.query_one("#con-search", Input)
        search.display = True
        self._search_from = None
        search.focus()

    @on(Input.Submitted, "#con-search")
    def search_next(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            return
        found = self.terminal.find(event.value, self._search_from)
        if found is None:
            self.notify(f"not found (older): {event.value}", severity="warning", timeout=3)
            self._search_from = None
        else:
            self._search_from = found

    def on_key(self, event: Any) -> None:
        search = self.query_one("#con-search", Input)
        if event.key == "escape" and search.has_focus:
            event.stop()
            search.display = False
            self.terminal.highlight = None
            self.terminal.back = 0
            self.terminal.refresh()
            self.terminal.focus()

    def save_scrollback(self, path: str) -> None:
        try:
            count = self.terminal.save(path)
        except OSError as exc:
            self.notify(f"cannot save to {path}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"{self.address}: {count} lines saved to {path}", timeout=6)

    def close(self) -> None:
        with self._handoff:  # an open still on its way closes what it opens
            self.user_closed = True
            unclaimed, self._unclaimed = self._unclaimed, None
        self._stop_retry()
        transport, self.transport = self.transport, None
        self.buffer = None
        for opened in (transport, unclaimed):
            if opened is not None:
                opened.close()

    def on_unmount(self) -> None:
        self.close()
