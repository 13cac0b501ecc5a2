"""A Docker container being made: the image's pull progress (its layers summed, and a bar
per layer), shown while it pulls; escape stops the pull (nothing is created). The images
view's pulls and pushes show on it too (ui/images/transfer.py).

The job (a thread) only writes the newest status into a `PullWatch`; the screen reads it
on a timer. Nothing on the thread touches a widget.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tuivirt.sizes import human_size
from tuivirt.text import inert

if TYPE_CHECKING:
    from tuivirt.backends.docker_pull import ImagePull
    from tuivirt.create.container import PullStatus

SHOW_EVERY = 0.1  # s: the daemon sends ~10 events a second per layer
BAR_WIDTH = 24
MAX_BARS = 12  # layers drawn; an image of more says how many more


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

    def newest(self) -> PullStatus | None:
        with self._lock:
            return self.status

    def text(self) -> str:
        from tuivirt.create.container import describe

        with self._lock:
            status, pulling = self.status, self.pull is not None
        if status is not None:
            return describe(status)
        return "pulling the image: asking the registry" if pulling else "creating…"


def layer_bars(status: PullStatus | None) -> Text:
    """A bar per layer: `a1b2c3d4e5f6 ━━━━━━━━──── downloading  1.2 MiB of 3.4 MiB`."""
    out = Text(no_wrap=True, overflow="ellipsis")
    if status is None:
        return out
    for n, layer in enumerate(status.per_layer[:MAX_BARS]):
        if n:
            out.append("\n")
        size = layer.size or 0
        done = layer.phase == "done"
        share = 1.0 if done else (min(layer.current, size) / size if size else 0.0)
        filled = round(share * BAR_WIDTH)
        phase = ("pushing" if layer.phase == "downloading" and status.verb == "pushing"
                 else layer.phase)
        out.append(f"{inert(layer.id)[:12]:<12} ")
        out.append("━" * filled, style="green" if done else "cyan")
        out.append("─" * (BAR_WIDTH - filled), style="dim")
        sizes = (f"{human_size(min(layer.current, size))} of {human_size(size)}"
                 if size else "")
        out.append(f" {phase:<11} {sizes}".rstrip(), style="dim" if done else "")
    more = len(status.per_layer) - MAX_BARS
    if more > 0:
        out.append(f"\n… and {more} more layers", style="dim italic")
    return out


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
    PullScreen .hint { margin-top: 1; color: $foreground 70%; }
    """

    def __init__(self, title: str, watch: PullWatch, *,
                 hint: str = "esc: stop the pull (nothing is created)") -> None:
        super().__init__()
        self.title_text = title
        self.watch_ = watch
        self.hint = hint
        self._shown: PullStatus | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(inert(self.title_text), classes="title", markup=False)
            yield Static(inert(self.watch_.text()), id="pull-status", markup=False)
            yield Static(id="pull-layers", markup=False)
            yield Static(self.hint, classes="hint", markup=False)

    def on_mount(self) -> None:
        self.set_interval(SHOW_EVERY, self.show_status)

    def show_status(self) -> None:
        if self.watch_.cancelled:
            return  # "stopping…" stays until the job ends
        self.query_one("#pull-status", Static).update(inert(self.watch_.text()))
        status = self.watch_.newest()
        if status is not self._shown:  # a new picture: the bars again
            self._shown = status
            self.query_one("#pull-layers", Static).update(layer_bars(status))

    def action_cancel(self) -> None:
        if self.watch_.cancel():
            self.query_one("#pull-status", Static).update("stopping the pull…")
        else:
            self.notify("no pull is running: the container is being created",
                        severity="warning", timeout=4)
