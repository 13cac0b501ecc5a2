"""tuivirt's full-screen app: the fleet's news in, lifecycle actions out.

The main screen (main_screen.py) draws; the features live in their folders (table/,
console/, editor/, networks/); this module forwards the fleet's news to the screens and
runs the actions they request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal

from tuivirt import paths
from tuivirt.actions import Step, plan
from tuivirt.config import Config
from tuivirt.errors import ActionTimedOut
from tuivirt.inventory import Diff
from tuivirt.model import Guest, HostState
from tuivirt.session import Fleet
from tuivirt.ui.commands import guest_commands
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.fleet_news import FleetNews
from tuivirt.ui.common.workers import ThreadJobs, error_text, use_daemon_threads
from tuivirt.ui.console.terminal import LEAVE_KEY, GuestKeysFirst, TerminalView
from tuivirt.ui.main_screen import MainScreen
from tuivirt.ui.messages import ActionRequested, InventoryChanged
from tuivirt.ui.themes import load_themes

#: How long an action that timed out is still watched for its outcome (seconds).
LATE_OUTCOME_WAIT = 3600.0
LOST_NAMED = 5  # hosts named in one "N hosts lost" notice


def freeze_heap() -> None:
    """Out of the collector's way, what the app holds once the fleet is up.

    A full collection walked every object of the app, its 100 sessions' connections and
    Textual's caches (~160,000): ~60 ms of the UI thread each, one to three every 10 s
    at 100 SSH hosts, idle. Frozen (after one collection, so no garbage is kept), they
    are no longer walked; objects made later are collected as before. What was frozen
    and later becomes cyclic garbage (a host's first connection, once it reconnects)
    stays: bounded by what was frozen, once."""
    import gc

    gc.collect()
    gc.freeze()


class TuivirtApp(FleetNews, ThreadJobs, GuestKeysFirst, App[int]):
    """tuivirt's full-screen console.

    The fleet (host sessions + inventory) is given in the constructor; `start_sessions`
    False leaves it alone, so tests and snapshots can feed fixed data as messages.
    """

    TITLE = "tuivirt"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [Binding(LEAVE_KEY, "leave_terminal", show=False, priority=True)]

    def __init__(self, config: Config, *, fleet: Fleet | None = None,
                 start_sessions: bool = True, clock: Callable[[], float] = time.time,
                 gate: threading.Event | None = None) -> None:
        super().__init__()
        self.config = config
        # Opened once the first rows are drawn: heavy sessions (ssh, docker) wait for it.
        self.gate = gate if gate is not None else threading.Event()
        self._said_lost: set[str] = set()  # hosts whose loss the user was told of
        self._heap_frozen = False
        self.fleet = fleet if fleet is not None else Fleet(config, live=True)
        self.start_sessions = start_sessions
        self.clock = clock
        #: Fleet news (guest rows, host states, network changes), one Diff at a time, on
        #: the UI thread. Screens subscribe; a screen's subscription ends with it.
        self.fleet_changed: Signal[Diff] = Signal(self, "fleet_changed")
        for theme in load_themes([paths.config_dir() / "themes"]):
            self.register_theme(theme)
        self.theme = config.theme if config.theme in self.available_themes else "tuivirt-dark"

    def leave_terminal(self, terminal: TerminalView) -> None:
        if (main := self.live_main) is not None:
            main.give_table_back()

    def on_load(self) -> None:
        use_daemon_threads()  # a worker stuck on a hung host must not hold q

    def get_default_screen(self) -> MainScreen:
        return MainScreen(self.config, self.clock)

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    @property
    def live_main(self) -> MainScreen | None:
        """The main screen, or None once the app is quitting: its screens go before the
        last messages posted from session and worker threads are handled."""
        if not self.screen_stack or not isinstance(self.screen_stack[0], MainScreen):
            return None
        return self.screen_stack[0]

    def on_mount(self) -> None:
        for note in self.config.notes:
            self.notify(note, title="demo host", timeout=8)
        if self.config.theme != self.theme:
            known = ", ".join(sorted(self.available_themes))
            self.notify(f"theme {self.config.theme!r} is unknown; using {self.theme} "
                        f"(known: {known})", severity="warning", timeout=10)

        self.follow_fleet_news()
        # Rows already in the inventory (e.g. a fleet connected before the app).
        initial = Diff(added=tuple(self.fleet.inventory.guests()),
                       hosts=tuple(self.fleet.inventory.host_statuses()))
        if initial:
            self.post_message(InventoryChanged(initial))
        if self.start_sessions:
            self.fleet.start(self.gate)
        if self.fleet.all_heavy:
            self.gate.set()  # nothing quick to show first: let everything connect
        else:
            self.set_timer(0.5, self.gate.set)  # never hold the others for long
        self.set_interval(15, self._tick)

    def _tick(self) -> None:
        # Uptimes move; nothing else needs a timer (events carry the rest).
        if (main := self.live_main) is not None:
            main.table.refresh()

    def on_unmount(self) -> None:
        self.stop_fleet_news()
        # A hung host must not hold the exit: close in the background.
        threading.Thread(target=self.fleet.close, daemon=True).start()

    # -- the fleet's news -----------------------------------------------------------------
    def on_inventory_changed(self, message: InventoryChanged) -> None:
        main = self.live_main
        if main is None:
            return  # quitting: nothing left to show it on
        diff = message.diff
        main.show_diff(diff)
        # Said when a host becomes lost, not on each later update still carrying it (its
        # staleness or latency); many at once (a cut link to a rack) are one notice.
        # Its consoles: the session ends them with the reason (it owns them).
        newly = []
        for status in diff.hosts:
            if status.state != "lost":
                self._said_lost.discard(status.name)
            elif status.name not in self._said_lost:
                self._said_lost.add(status.name)
                newly.append(status)
        if len(newly) == 1:
            self.notify(f"host {newly[0].name} lost: {newly[0].reason}", severity="error",
                        timeout=6)
        elif newly:
            names = ", ".join(s.name for s in newly[:LOST_NAMED])
            more = f" and {len(newly) - LOST_NAMED} more" if len(newly) > LOST_NAMED else ""
            self.notify(f"{len(newly)} hosts lost: {names}{more} ({newly[0].reason})",
                        severity="error", timeout=8)
        self.fleet_changed.publish(diff)
        if not self._heap_frozen and diff.hosts and self._fleet_settled():
            self._heap_frozen = True
            self.call_after_refresh(freeze_heap)

    def _fleet_settled(self) -> bool:
        """Every host has been through its first connect (up, degraded or lost)."""
        statuses = self.fleet.inventory.host_statuses()
        return len(statuses) >= len(self.fleet.sessions) and all(
            s.state not in (HostState.CONNECTING, HostState.DISCONNECTED) for s in statuses)

    def on_main_screen_rows_shown(self) -> None:
        self.call_after_refresh(self.gate.set)

    # -- actions ------------------------------------------------------------------------
    def on_action_requested(self, message: ActionRequested) -> None:
        self.request_action(message.action, message.targets)

    def request_action(self, action: str, targets: list[Guest]) -> None:
        """Plan (actions.plan: refusals, the pause toggle, what needs confirming), confirm
        where it hurts, then run each step off the UI thread."""
        if not targets:
            self.notify("no guest under the cursor", severity="warning")
            return
        addresses = self.fleet.inventory.addresses(targets)
        planned = plan(action, [(addresses[g.key], g) for g in targets], self.config.hosts,
                       confirm_many=True)
        for refusal in planned.refused:
            self.notify(refusal.reason, severity="error", timeout=6)
        confirm = planned.confirm
        if confirm is not None:
            self.push_screen(
                ConfirmScreen(confirm.title, list(confirm.details), typed=confirm.typed,
                              confirm_label=confirm.verb),
                lambda ok: self._launch(planned.steps) if ok else self.notify(
                    "cancelled: nothing was changed"))
        elif planned.steps:
            self._launch(planned.steps)

    def _launch(self, steps: Iterable[Step]) -> None:
        for step in steps:
            self._busy(step, step.action.doing)
            self.in_thread(partial(perform, self.fleet, step), partial(self._performed, step),
                           what=step.address, group="actions",
                           failed=partial(self._failed, step))

    def _busy(self, step: Step, doing: str | None) -> None:
        if (main := self.live_main) is not None:
            main.table.set_busy([step.guest.key], doing)

    def _performed(self, step: Step, _: object = None) -> None:
        self._busy(step, None)
        # The step put the guest's new record in the inventory before it returned: the
        # row shows it before the outcome is said (a toggle pressed again right after
        # "autostart on" read the row as off while the news waited for its interval).
        self.news_now()
        self.call_later(self.notify, f"{step.address}: {step.action.outcome(step.enable)}",
                        timeout=4)

    def _failed(self, step: Step, error: BaseException) -> None:
        self._busy(step, None)
        self.notify(f"{step.address}: {step.action.value} failed: {error_text(error)}",
                    severity="error", timeout=10)
        if isinstance(error, ActionTimedOut):
            self._await_late(step, error)

    def _await_late(self, step: Step, timed_out: ActionTimedOut) -> None:
        """An action that timed out may still land: say when it does, and how."""
        from tuivirt.backends.deadline import Pending

        pending = timed_out.pending
        assert isinstance(pending, Pending)
        started = time.monotonic()

        def landed(done: bool) -> None:
            if not done:
                return
            late = f"{time.monotonic() - started + timed_out.timeout:.0f} s after it was sent"
            if pending.error is None:
                self.notify(f"{step.address}: {timed_out.action} (timed out earlier) took "
                            f"effect {late}: {step.action.outcome(step.enable)}", timeout=10)
            else:
                self.notify(f"{step.address}: {timed_out.action} (timed out earlier) failed "
                            f"{late}: {error_text(pending.error)}", severity="error",
                            timeout=10)

        self.in_thread(partial(pending.wait, LATE_OUTCOME_WAIT), landed, what=step.address,
                       group="late")

    # -- the palette ------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            yield from guest_commands(screen)


def perform(fleet: Fleet, step: Step) -> None:
    """(A worker thread.) One step; raises what went wrong."""
    fleet.session(step.guest.host).perform(step.guest, step.action, step.enable)
