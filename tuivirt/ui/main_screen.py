"""The main screen: the guest table, the host panel, the filter, a status line; with
the console tabs (console/dock.py), the editor pane (editor/guests.py) and the log pane
(logs/dock.py) it hosts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from tuivirt.config import Config
from tuivirt.inventory import Diff
from tuivirt.model import Guest
from tuivirt.ui.common.footer import KeyFooter
from tuivirt.ui.common.help import HelpScreen
from tuivirt.ui.console.dock import ConsoleDock
from tuivirt.ui.create.flow import NewGuest
from tuivirt.ui.editor.guests import GuestDefinitions
from tuivirt.ui.logs.dock import LogDock
from tuivirt.ui.messages import ActionRequested
from tuivirt.ui.table.columns import SORT_KEYS
from tuivirt.ui.table.filter import FilterError, GuestFilter
from tuivirt.ui.table.filter_input import FilterInput
from tuivirt.ui.table.guest_table import GuestTable
from tuivirt.ui.table.host_panel import HostInfo, HostPanel

if TYPE_CHECKING:  # by the handler's name: the editor is imported when first used
    from tuivirt.ui.editor.apply import NewGuestDefined


class MainScreen(ConsoleDock, LogDock, NewGuest, GuestDefinitions):
    """The table, the host panel, the filter, a status line, and the editor pane."""

    BINDINGS = [
        # priority: acted on before the keys typed after it are passed on (see
        # action_filter); skipped when the table does not have focus.
        Binding("slash", "filter", "Filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("space", "mark", "Mark"),
        Binding("u", "clear_marks", "Unmark all", show=False),
        Binding("s", "act('start')", "Start"),
        Binding("S", "act('shutdown')", "Shutdown"),
        Binding("r", "act('reboot')", "Reboot"),
        Binding("D", "act('destroy')", "Destroy"),
        Binding("p", "act('pause')", "Pause/resume"),
        Binding("a", "act('autostart')", "Autostart"),
        Binding("n", "new_guest", "New guest", show=False),
        Binding("x", "edit", "XML"),
        Binding("E", "edit(True)", "$EDITOR", show=False),
        Binding("C", "clone", "Clone", show=False),
        Binding("N", "networks", "Networks"),
        Binding("P", "storage", "Storage", show=False),
        Binding("I", "images", "Images", show=False),
        Binding("c", "console", "Console", priority=True),  # as `/`: see action_console
        Binding("l", "logs", "Logs", show=False),
        Binding("f2", "console_zoom", "Zoom console", show=False),
        Binding("f3", "console_search", "Search console", show=False),
        Binding("f4", "console_save", "Save console", show=False),
        Binding("f5", "console_reconnect", "Reconnect console", show=False),
        Binding("f8", "console_close", "Close console", show=False),
        Binding("plus", "console_size(4)", "Bigger console", show=False),
        Binding("minus", "console_size(-4)", "Smaller console", show=False),
        Binding("U", "act('undefine')", "Undefine", show=False),
        Binding("o", "sort_next", "Sort", show=False),
        Binding("O", "sort_reverse", "Reverse sort", show=False),
        Binding("H", "group", "Group by host / tag", show=False),
        Binding("h", "hosts", "Hosts"),
        Binding("question_mark", "help", "Help"),
        Binding("colon", "app.command_palette", "Commands", show=False),  # as app.quit
        # app.quit: a screen has no quit action of its own (a plain "quit" did nothing)
        Binding("q", "app.quit", "Quit"),
    ]
    DEFAULT_CSS = """
    MainScreen { layout: vertical; }
    MainScreen #filter { height: 1; border: none; padding: 0 1; background: $panel; }
    MainScreen #filter.-invalid { color: $error; }
    MainScreen #body { height: 1fr; }
    MainScreen #consoles { height: 50%; min-height: 6; border-top: tall $primary; }
    MainScreen #consoles TabPane { padding: 0; }
    MainScreen GuestTable { height: 1fr; width: 1fr; }
    MainScreen #status { height: 1; padding: 0 1; background: $panel; color: $foreground 80%; }
    MainScreen #status.-error { color: $error; }
    """

    def __init__(self, config: Config, clock: Callable[[], float]) -> None:
        super().__init__()
        self.config = config
        self.clock = clock
        self.filter_error: str | None = None
        # Diffs that arrive before every widget is mounted (the table sits in a
        # container, mounted a step after the screen): applied in order once it is.
        self.early: list[Diff] | None = []
        self._rows_shown = False

    def compose(self) -> ComposeResult:
        hosts = [HostInfo(h.name, h.label, h.read_only, h.tags) for h in self.config.hosts]
        yield HostPanel(hosts, clock=self.clock, id="hosts",
                        guest_hosts=lambda: (g.host for g in self.table.guests.values()))
        yield FilterInput(self.filter_changed,
                          placeholder="filter: host:NAME tag:NAME state:running kind:docker text "
                          "!negate",
                          id="filter")
        table = GuestTable(id="guests", clock=self.clock)
        table.host_labels = {h.name: h.label for h in self.config.hosts if h.label}
        table.host_tags = {h.name: h.tags for h in self.config.hosts if h.tags}
        with Horizontal(id="body"):
            yield table
        yield Static(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        self.table.focus()
        early, self.early = self.early or [], None
        for diff in early:
            self._apply(diff)
        self.update_status()

    class RowsShown(Message):
        """The table shows its first rows (the app then lets heavy sessions connect)."""

    def show_diff(self, diff: Diff) -> None:
        """Fleet news, from the app: into the table, the host panel and the status line
        (kept until every widget is mounted: the table sits a step below the screen)."""
        if self.early is not None:
            self.early.append(diff)
            return
        self._apply(diff)
        self.update_status()

    def _apply(self, diff: Diff) -> None:
        table = self.table
        table.apply(diff)
        self.query_one(HostPanel).apply(diff)
        if not self._rows_shown and table.guests:
            self._rows_shown = True
            self.post_message(self.RowsShown())

    @property
    def table(self) -> GuestTable:
        return self.query_one(GuestTable)

    # -- status line --------------------------------------------------------------------
    def update_status(self) -> None:
        table = self.table
        total = len(table.guests)
        shown = table.visible_count()
        parts = [f"{total} guests" if shown == total else f"{shown} of {total} guests"]
        if table.filter:
            parts.append(f"filter: {table.filter.text}")
        if table.marks:
            parts.append(f"{len(table.marks)} marked")
        parts.append(f"sort: {table.sort_column}{' ▼' if table.sort_reverse else ''}")
        if table.group_by:
            parts.append(f"grouped by {table.group_by}")
        status = self.query_one("#status", Static)
        if self.filter_error:
            parts.append(f"filter error: {self.filter_error}")
        status.set_class(bool(self.filter_error), "-error")
        status.update(" · ".join(parts), layout=False)  # one fixed line: no relayout

    # -- filter -------------------------------------------------------------------------
    def action_filter(self) -> None:
        if self.focused is not self.table:
            raise SkipAction()  # a `/` for the filter box, the editor or a console
        box = self.query_one("#filter", Input)
        box.display = True
        # Synchronously, and as a priority binding: keys typed right after `/` (a fast
        # typist, a paste) were passed to the table before a non-priority binding ran,
        # and were lost.
        self.set_focus(box)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.filter_error = None
        self.table.set_filter(GuestFilter.parse(""))
        self.set_focus(self.table)
        self.update_status()

    def filter_changed(self, value: str) -> None:
        """The filter box's text changed (called from its value watcher, not a message)."""
        box = self.query_one("#filter", Input)
        try:
            guest_filter = GuestFilter.parse(value)
        except FilterError as exc:
            # Keep the last good filter on screen; say what is wrong with this one.
            self.filter_error = str(exc)
            box.add_class("-invalid")
        else:
            self.filter_error = None
            box.remove_class("-invalid")
            self.table.set_filter(guest_filter)
        self.update_status()

    @on(Input.Submitted, "#filter")
    def filter_done(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.action_clear_filter()
            return
        self.set_focus(self.table)

    # -- table keys ---------------------------------------------------------------------
    def action_mark(self) -> None:
        self.table.toggle_mark()
        self.update_status()

    def action_clear_marks(self) -> None:
        self.table.clear_marks()
        self.update_status()

    def action_sort_next(self) -> None:
        keys = list(SORT_KEYS)
        table = self.table
        table.sort_column = keys[(keys.index(table.sort_column) + 1) % len(keys)]
        self.update_status()

    def action_sort_reverse(self) -> None:
        self.table.sort_reverse = not self.table.sort_reverse
        self.update_status()

    def action_group(self) -> None:
        """H: no groups -> by host -> by tag (when some host has tags) -> no groups."""
        table = self.table
        cycle = ["", "host", *(["tag"] if table.host_tags else [])]
        table.group_by = cycle[(cycle.index(table.group_by) + 1) % len(cycle)]
        self.update_status()

    def action_hosts(self) -> None:
        """h: the host panel, with the keys (j/k, / filters it); h or esc: the table."""
        panel = self.query_one(HostPanel)
        panel.display = not panel.display
        if panel.display:
            panel.refresh_text()
            self.set_focus(panel.host_list)
        else:
            self.set_focus(self.table)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_act(self, action: str) -> None:
        self.post_message(ActionRequested(action, self.table.targets()))

    @on(GuestTable.CursorMoved)
    def cursor_moved(self) -> None:
        self.update_status()

    # -- what the features need from the table ----------------------------------------------
    def home(self) -> GuestTable:
        return self.table

    def current_guest(self) -> Guest | None:
        return self.table.current_guest

    def select_guest(self, guest: Guest, *, focus: bool = True, tries: int = 40) -> None:
        """The cursor on a guest just made, once its row shows (it comes with the fleet's
        news, a moment after the call that made it returned)."""
        table = self.table
        if guest.key in table.guests:
            table.move_to_key(guest.key)
            if focus:
                table.focus()
        elif tries > 0:
            self.set_timer(0.1, lambda: self.select_guest(guest, focus=focus,
                                                          tries=tries - 1))

    def on_new_guest_defined(self, event: NewGuestDefined) -> None:
        """Defined from the editor pane: the cursor goes to its row (the pane keeps the
        focus; esc, then `c` opens its console)."""
        self.select_guest(event.guest, focus=False)

    def action_networks(self) -> None:
        from tuivirt.ui.networks.screen import NetworksScreen

        self.app.push_screen(NetworksScreen(self.config))

    def action_storage(self) -> None:
        from tuivirt.ui.storage.screen import StorageScreen

        self.app.push_screen(StorageScreen(self.config))

    def action_images(self) -> None:
        from tuivirt.ui.images.screen import ImagesScreen

        self.app.push_screen(ImagesScreen(self.config))
