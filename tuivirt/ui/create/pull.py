"""A Docker container being made: the image's pull progress (its layers summed), shown
while it pulls; escape stops the pull (nothing is created).

The job (a thread) only writes the newest status into a `PullWatch`; the screen reads it
on a timer. Nothing on the thread touches a widget.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tuivirt.text import inert

if TYPE_CHECKING:
    from tuivirt.backends.docker_pull import ImagePull
    from tuivirt.create.container import PullStatus

SHOW_EVERY = 0.1  # s: the daemon sends ~10 events a second per layer


class PullWatch:
    """Shared by the job and the screen: the pull (to cancel it) and its newest status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pull: ImagePull | None = None
        self.status: PullStatus | None = None
        self.cancelled = False

    def started(self, pull: ImagePull) -> None:
        with self._lock:
            self.pull = pull
            cancelled = self.cancelled
        if cancelled:  # escape came before the pull began
            pull.cancel()

    def progress(self, status: PullStatus) -> None:
        with self._lock:
            self.status = status

    def cancel(self) -> bool:
        """Stop the pull; False when there is none yet (the container may be made)."""
        with self._lock:
            self.cancelled = True
            pull = self.pull
        if pull is not None:
            pull.cancel()
        return pull is not None

    def text(self) -> str:
        from tuivirt.create.container import describe

        with self._lock:
            status, pulling = self.status, self.pull is not None
        if status is not None:
            return describe(status)
        return "pulling the image: asking the registry" if pulling else "creating…"


class PullScreen(ModalScreen[None]):
    """Dismissed by whoever started the job, once it ends."""

    BINDINGS = [Binding("escape", "cancel", "Stop the pull")]
    DEFAULT_CSS = """
    PullScreen { align: center middle; }
    PullScreen > Vertical {
        width: 80; max-width: 96%; height: auto; border: thick $primary;
        background: $surface; padding: 1 2;
    }
    PullScreen .title { text-style: bold; margin-bottom: 1; }
    """

    def __init__(self, title: str, watch: PullWatch) -> None:
        super().__init__()
        self.title_text = title
        self.watch_ = watch

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(inert(self.title_text), classes="title", markup=False)
            yield Static(inert(self.watch_.text()), id="pull-status", markup=False)
            yield Static("esc: stop the pull (nothing is created)", classes="hint")

    def on_mount(self) -> None:
        self.set_interval(SHOW_EVERY, self.show_status)

    def show_status(self) -> None:
        self.query_one("#pull-status", Static).update(inert(self.watch_.text()))

    def action_cancel(self) -> None:
        if self.watch_.cancel():
            self.query_one("#pull-status", Static).update("stopping the pull…")
        else:
            self.notify("no pull is running: the container is being created",
                        severity="warning", timeout=4)
