"""The log pane: one guest's log read in a thread, drawn in batches, searched, saved.

A log can arrive faster than anyone reads it (a container writing 5 MB/s): the reader
thread splits it into lines and queues them; the queue never holds more than the ring
keeps (older lines would be pushed out anyway), so memory stays bounded however far the
UI falls behind, and the UI takes the queue at most once a frame (~30 a second), one
refresh for the whole batch.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from tuivirt.backends.logs import LineSplitter, LogOptions, LogRing, LogSource
from tuivirt.errors import message_of
from tuivirt.model import DOCKER, Guest
from tuivirt.text import inert
from tuivirt.ui.logs.view import LogView

if TYPE_CHECKING:
    from tuivirt.session import Fleet

FRAME = 1 / 30  # at most one batch (and one refresh) per frame
HISTORY = 10_000  # lines kept, as the console's scrollback
PAST = 1000  # lines of the past asked for when the pane opens


class LogPane(Vertical):
    """Header, the lines, a search box. Keys while it has focus: below."""

    BINDINGS = [
        Binding("f3,slash", "search", "Search"),
        Binding("f4", "save", "Save"),
        Binding("t", "timestamps", "Timestamps"),
        Binding("G,end", "follow", "Follow"),
        Binding("escape", "leave", "Back to the table"),
        Binding("f8", "close_pane", "Close"),
    ]
    DEFAULT_CSS = """
    LogPane { width: 1fr; height: 1fr; border-left: tall $primary; }
    LogPane #log-header { height: 1; padding: 0 1; background: $primary 30%; }
    LogPane #log-header.-down { background: $error 40%; }
    LogPane #log-search { height: 1; border: none; padding: 0 1; background: $panel; }
    """

    class Batch(Message):
        """Lines are waiting (posted from the reader thread, at most one outstanding)."""

    class Ended(Message):
        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    class Opened(Message):
        def __init__(self, label: str, stamped: bool) -> None:
            super().__init__()
            self.label = label
            self.stamped = stamped

    class Leave(Message):
        """esc: the table gets the keys back (the pane stays)."""

    class SaveAsked(Message):
        def __init__(self, pane: LogPane) -> None:
            super().__init__()
            self.pane = pane

    class Closed(Message):
        def __init__(self, pane: LogPane) -> None:
            super().__init__()
            self.pane = pane

    def __init__(self, fleet: Fleet, guest: Guest, address: str, *,
                 history: int = HISTORY, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fleet = fleet
        self.guest = guest
        self.address = address
        self.ring = LogRing(max_lines=history)
        self.state = "opening"
        self.detail = ""
        self.label = ""
        self.source: LogSource | None = None
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._skipped = 0  # lines dropped before the UI took them (it fell behind)
        self._posted = False
        self._last_take = 0.0
        self._closed = False
        self._search_from: int | None = None
        self.batches = 0  # batches taken (for tests and the benchmark)

    def compose(self) -> ComposeResult:
        yield Static(id="log-header", markup=False)  # names and errors: inert
        yield LogView(self.ring, id="log-view")
        search = Input(placeholder="search the log (enter: older match, esc: close)",
                       id="log-search")
        search.display = False
        yield search

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def on_mount(self) -> None:
        self.update_header()
        self.start(self._open_source)

    # -- reading (a thread) ---------------------------------------------------------------
    def start(self, opener: Any) -> None:
        """Read the log on a thread: `opener()` returns the LogSource (blocking)."""
        threading.Thread(target=self._read, args=(opener,), daemon=True,
                         name=f"log-{self.guest.host}-{self.guest.name}").start()

    def _open_source(self) -> LogSource:
        # Docker's timestamps are always asked for: `t` shows or hides them.
        options = LogOptions(follow=True, timestamps=self.guest.kind == DOCKER, tail=PAST)
        return self.fleet.session(self.guest.host).open_logs(self.guest, options)

    def _read(self, opener: Any) -> None:
        try:
            source = opener()
        except Exception as exc:  # ours carry the daemon's words; a library's surprise too
            self.post_message(self.Ended(f"cannot read the log: {message_of(exc)}"))
            return
        with self._lock:
            if self._closed:
                source.close()
                return
            self.source = source
        self.post_message(self.Opened(source.label, source.stamped))
        splitter = LineSplitter()
        while True:
            data = source.read()
            lines = splitter.feed(data) if data else splitter.flush()
            if lines:
                self.queue(lines)
            if not data:
                break
        if not self._closed:
            self.post_message(self.Ended(f"the log broke off: {source.error}" if source.error
                                         else "the log ended"))

    def queue(self, lines: list[str]) -> None:
        """(Any thread.) Lines for the pane; the UI is woken once until it takes them."""
        limit = self.ring.max_lines
        with self._lock:
            pending = self._pending
            pending += lines
            if len(pending) > limit:  # the ring would push them out anyway
                excess = len(pending) - limit
                del pending[:excess]
                self._skipped += excess
            if self._posted:
                return
            self._posted = True
        self.post_message(self.Batch())

    # -- drawing (the UI thread) ----------------------------------------------------------
    @on(Batch)
    def batch_ready(self) -> None:
        wait = self._last_take + FRAME - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self.take)
        else:
            self.take()

    def take(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
            skipped, self._skipped = self._skipped, 0
            self._posted = False
        self._last_take = time.monotonic()
        if not lines and not skipped:
            return
        self.batches += 1
        view = self.view
        following = view.following
        before = self.ring.dropped
        self.ring.extend(lines)
        self.ring.dropped += skipped
        self.ring.total += skipped
        pushed = self.ring.dropped - before - skipped
        if view.highlight is not None:
            view.highlight -= pushed
            if view.highlight < 0:
                view.highlight = None
        if self._search_from is not None:
            self._search_from = max(0, self._search_from - pushed) or None
        view.lines_changed(lines)
        if following:
            view.jump_end()
        elif pushed:  # the lines in view moved up: keep them in view
            view.jump(round(view.scroll_y) - pushed)
        view.refresh()
        if skipped or not following:
            self.update_header()

    @on(Opened)
    def opened(self, message: Opened) -> None:
        self.state, self.label = "following", message.label
        self.view.stamped = message.stamped
        self.update_header()

    @on(Ended)
    def ended(self, message: Ended) -> None:
        self.take()
        self.state, self.detail = "ended", message.reason
        self.update_header()

    def update_header(self) -> None:
        parts = [f"▤ {self.address}", self.state + (f": {self.detail}" if self.detail else "")]
        if self.label:
            parts.append(self.label)
        if self.ring.dropped:
            parts.append(f"last {len(self.ring)} of {self.ring.total} lines")
        parts.append("f3 search · f4 save · t times · esc table · f8 close")
        header = self.query_one("#log-header", Static)
        header.update(inert(" · ".join(parts)))
        header.set_class(self.state == "ended" and "cannot" in self.detail, "-down")

    # -- keys -----------------------------------------------------------------------------
    def action_timestamps(self) -> None:
        view = self.view
        if not view.stamped:
            self.notify("this log carries its own times (libvirt stamps its lines)",
                        timeout=3)
            return
        view.stamps = not view.stamps
        view.refresh()

    def action_follow(self) -> None:
        self.view.jump_end()

    def action_leave(self) -> None:
        search = self.query_one("#log-search", Input)
        if search.has_focus:
            self._close_search()
            return
        self.post_message(self.Leave())

    def action_save(self) -> None:
        self.post_message(self.SaveAsked(self))

    def action_close_pane(self) -> None:
        self.post_message(self.Closed(self))

    def action_search(self) -> None:
        search = self.query_one("#log-search", Input)
        search.display = True
        self._search_from = None
        search.focus()

    def _close_search(self) -> None:
        search = self.query_one("#log-search", Input)
        search.display = False
        self.view.highlight = None
        self.view.refresh()
        self.view.focus()

    @on(Input.Submitted, "#log-search")
    def search_next(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            return
        found = self.find(event.value, self._search_from)
        if found is None:
            self.notify(f"not found (older): {inert(event.value)}", severity="warning",
                        timeout=3)
            self._search_from = None
            return
        self._search_from = found
        view = self.view
        view.highlight = found
        view.following = False  # stay on the match while lines come in
        view.jump(found - view.size.height // 2)

    def find(self, text: str, before: int | None = None) -> int | None:
        """The newest line above `before` (None: the end) that holds `text`, any case,
        as shown (timestamps or not)."""
        needle = text.lower()
        lines = self.ring.lines
        view = self.view
        start = len(lines) if before is None else before
        for index in range(start - 1, -1, -1):
            if needle in view.text_of(lines[index]).lower():
                return index
        return None

    def save(self, path: str) -> int:
        """Every line held, as the log had it (bytes included); how many."""
        lines = list(self.ring.lines)
        with open(path, "wb") as out:
            for line in lines:
                out.write(line.encode("utf-8", "surrogateescape") + b"\n")
        return len(lines)

    # -- the end ----------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._closed = True
            source, self.source = self.source, None
        if source is not None:
            # A hung daemon or a dead link may block closing: not on the UI thread.
            threading.Thread(target=source.close, daemon=True, name="log-close").start()

    def on_unmount(self) -> None:
        self.close()
