"""`tuivirt console ADDRESS`: one console, full screen, straight away (incident mode)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message

from tuivirt.config import Config
from tuivirt.model import Guest, HostState
from tuivirt.session import Fleet
from tuivirt.session.core import SessionCore
from tuivirt.ui.widgets.console import ConsolePane
from tuivirt.ui.widgets.terminal import LEAVE_KEY, GuestKeysFirst, TerminalView
from tuivirt.ui.workers import use_daemon_threads


class ConsoleApp(GuestKeysFirst, App[int]):
    """ctrl+] leaves (as `virsh console` does); F5 reconnects or takes over."""

    TITLE = "tuivirt console"
    # priority: the terminal takes every other key (F5 is not sent to the guest here)
    BINDINGS = [Binding("f5", "reconnect", "Reconnect", show=False, priority=True),
                Binding(LEAVE_KEY, "leave_terminal", show=False, priority=True)]
    CSS = "ConsolePane { height: 1fr; }"

    def __init__(self, config: Config, fleet: Fleet, guest: Guest, address: str, *,
                 via: str = "auto") -> None:
        super().__init__()
        self.config = config
        self.fleet = fleet
        self.pane = ConsolePane(fleet, guest, address, via=via,
                                leave_hint="ctrl+] quits · F5 reconnects")

    class HostLost(Message):
        def __init__(self, reason: str, *, endpoint: bool = False) -> None:
            super().__init__()
            self.reason = reason
            self.endpoint = endpoint  # only the guest's endpoint, not the whole host

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_load(self) -> None:
        use_daemon_threads()  # a worker stuck on a hung host must not hold ctrl+]

    def on_mount(self) -> None:
        self.pane.terminal.focus()
        # No live fleet here: the session reports a lost host (SSH keepalive) itself.
        self.fleet.session(self.pane.guest.host).on_state = self._session_state

    def _session_state(self, session: SessionCore) -> None:
        """(Any thread.) A stream over a dead SSH link may never end by itself."""
        if session.state == HostState.LOST:
            self.post_message(self.HostLost(session.reason))
        elif self.pane.guest.endpoint in session.endpoints_down():
            # Its daemon went away (the host itself answers): the stream may not say so.
            reason = session.endpoint_status.get(self.pane.guest.endpoint, "")
            self.post_message(self.HostLost(reason, endpoint=True))

    def on_console_app_host_lost(self, message: HostLost) -> None:
        if self.pane.transport is not None:
            if message.endpoint:
                self.pane.endpoint_down(message.reason)
            else:
                self.pane.host_lost(message.reason)

    def leave_terminal(self, terminal: TerminalView) -> None:
        self.on_console_pane_leave()

    def on_console_pane_leave(self) -> None:
        self.pane.close()
        self.exit(0)

    def action_reconnect(self) -> None:
        self.pane.take_over()
