"""`tuivirt console ADDRESS`: one console, full screen, straight away (incident mode)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.signal import Signal

from tuivirt.config import Config
from tuivirt.inventory import Diff
from tuivirt.model import Guest
from tuivirt.session import Fleet
from tuivirt.ui.common.fleet_news import FleetNews
from tuivirt.ui.common.workers import use_daemon_threads
from tuivirt.ui.console.pane import ConsolePane
from tuivirt.ui.console.terminal import LEAVE_KEY, GuestKeysFirst, TerminalView
from tuivirt.ui.messages import InventoryChanged


class ConsoleApp(FleetNews, GuestKeysFirst, App[int]):
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
        #: The session's news on the UI thread, as TuivirtApp has it: the pane subscribes.
        self.fleet_changed: Signal[Diff] = Signal(self, "fleet_changed")

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_load(self) -> None:
        use_daemon_threads()  # a worker stuck on a hung host must not hold ctrl+]

    def on_mount(self) -> None:
        self.follow_fleet_news()
        # The guest's session goes live on the connection the command made: its events
        # (the guest stopped or runs again, an endpoint or the host lost or back) reach
        # the pane; it reconnects what it loses. The console it opens stays open.
        session = self.fleet.session(self.pane.guest.host)
        if not session.live:
            session.start(keep=True)
        self.pane.terminal.focus()

    def on_inventory_changed(self, message: InventoryChanged) -> None:
        self.fleet_changed.publish(message.diff)

    def on_unmount(self) -> None:
        self.stop_fleet_news()

    def leave_terminal(self, terminal: TerminalView) -> None:
        self.on_console_pane_leave()

    def on_console_pane_leave(self) -> None:
        self.pane.close()
        self.exit(0)

    def action_reconnect(self) -> None:
        self.pane.take_over()
