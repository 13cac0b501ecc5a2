"""The host panel: one status line per host (state, reason, since when)."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from tuivirt.inventory import HostStatus
from tuivirt.model import HostState
from tuivirt.text import inert

STATE_STYLE = {
    HostState.CONNECTED: "$success",
    HostState.DEGRADED: "$warning",
    HostState.CONNECTING: "$primary",
    HostState.RECONNECTING: "$primary",
    HostState.LOST: "$error",
    HostState.DISCONNECTED: "$error",
}


def ago(seconds: float) -> str:
    # Minutes at best: a clock ticking every second would repaint the panel every second.
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "<1m ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m ago"


class HostPanel(Static):
    """Hosts in config order, each with its colour label and connection state."""

    DEFAULT_CSS = """
    HostPanel {
        height: auto;
        max-height: 12;
        padding: 0 1;
        background: $panel;
        border-bottom: solid $primary 30%;
    }
    """

    def __init__(self, hosts: list[tuple[str, str | None, bool]], *,
                 clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hosts = hosts  # (name, label colour, read-only)
        self.statuses: dict[str, HostStatus] = {}
        self._clock = clock
        self._shown = ""  # what is on screen: repaint only when it changes

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh_text)
        self.refresh_text()

    def update_status(self, status: HostStatus) -> None:
        self.statuses[status.name] = status
        self.refresh_text()

    def refresh_text(self) -> None:
        if not self.display:
            return
        now = self._clock()
        text = Text()
        variables = self.app.get_css_variables()
        for i, (name, label, read_only) in enumerate(self.hosts):
            if i:
                text.append("\n")
            status = self.statuses.get(name)
            state = status.state if status else HostState.DISCONNECTED
            colour = variables.get(STATE_STYLE[state].lstrip("$"), "")
            text.append("● ", style=label or "")
            text.append(f"{inert(name):<12}", style="bold")
            text.append(f" {state:<12}", style=colour)
            if read_only:
                text.append(" read-only", style="italic")
            if status:
                text.append(f"  {ago(now - status.since)}", style="dim")
                if status.reason:
                    # The daemon's or SSH's own words: one line, inert.
                    text.append(f"  {inert(status.reason)}", style="dim")
        # The 1 s timer mostly recomputes the same "5m ago": skip the repaint then
        # (a repaint a second was most of the idle CPU with 5000 rows).
        shown = f"{self.app.theme}\n{text.plain}"
        if shown != self._shown:
            self._shown = shown
            self.update(text)
