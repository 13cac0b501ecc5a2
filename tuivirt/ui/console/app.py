"""`tuivirt console ADDRESS`: one console, full screen, straight away (incident mode)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding

from tuivirt.config import Config
from tuivirt.model import Guest
from tuivirt.session import Fleet
from tuivirt.ui.common.workers import use_daemon_threads
from tuivirt.ui.console.pane import ConsolePane
from tuivirt.ui.console.terminal import LEAVE_KEY, GuestKeysFirst, TerminalView


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

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_load(self) -> None:
        use_daemon_threads()  # a worker stuck on a hung host must not hold ctrl+]

    def on_mount(self) -> None:
        # No live fleet here: a lost host or a dead endpoint reaches the pane through its
        # transport, which the session ends with the reason (it owns its consoles).
        self.pane.terminal.focus()

    def leave_terminal(self, terminal: TerminalView) -> None:
        self.on_console_pane_leave()

    def on_console_pane_leave(self) -> None:
        self.pane.close()
        self.exit(0)

    def action_reconnect(self) -> None:
        self.pane.take_over()
