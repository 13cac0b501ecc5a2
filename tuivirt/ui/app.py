"""The Textual app: the main screen with one live table of every guest on every host."""

from __future__ import annotations

import contextlib
import threading
import time
import tomllib
from collections.abc import Callable, Iterable
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.actions import SkipAction
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.signal import Signal
from textual.theme import Theme
from textual.widgets import Input, Static

from tuivirt import clone, paths, xmltools
from tuivirt.actions import PAUSE_TOGGLE, Action, Step, plan
from tuivirt.config import Config
from tuivirt.errors import ActionTimedOut, TuivirtError, message_of
from tuivirt.inventory import Diff
from tuivirt.model import DOCKER, DefinitionRef, Guest
from tuivirt.session import Fleet
from tuivirt.ui.editing import EditorHost
from tuivirt.ui.filter import FilterError, GuestFilter
from tuivirt.ui.screens.confirm import ConfirmScreen
from tuivirt.ui.screens.help import HelpScreen
from tuivirt.ui.widgets.footer import KeyFooter
from tuivirt.ui.widgets.guest_table import SORT_KEYS, GuestTable
from tuivirt.ui.widgets.terminal import LEAVE_KEY, GuestKeysFirst, TerminalView
from tuivirt.ui.workers import use_daemon_threads

if TYPE_CHECKING:
    from textual.widgets import TabbedContent

    from tuivirt.ui.widgets.console import ConsolePane
from tuivirt.ui.widgets.host_panel import HostPanel

#: How long an action that timed out is still watched for its outcome (seconds).
LATE_OUTCOME_WAIT = 3600.0


class InventoryChanged(Message):
    """Posted from session threads: the inventory changed."""

    def __init__(self, diff: Diff) -> None:
        self.diff = diff
        super().__init__()


class ActionDone(Message):
    """Posted from a worker thread: one target's action finished."""

    def __init__(self, key: str, address: str, action: str, label: str,
                 error: str | None, *, late: bool = False) -> None:
        self.key = key
        self.address = address
        self.action = action
        self.label = label
        self.error = error
        self.late = late  # the outcome of an action that had timed out
        super().__init__()


def shipped_themes_dir() -> Path:
    """themes/ as installed (package tuivirt.themes), or at the top of a source tree."""
    try:
        return Path(str(resources.files("tuivirt.themes")))
    except ModuleNotFoundError:  # running from a checkout: themes/ sits beside tuivirt/
        return Path(__file__).resolve().parents[2] / "themes"


def load_themes(extra_dirs: Iterable[Path] = ()) -> list[Theme]:
    """Themes shipped in themes/, then the user's own."""
    sources: list[tuple[str, str]] = []
    for path in sorted(shipped_themes_dir().glob("*.toml")):
        sources.append((path.name, path.read_text(encoding="utf-8")))
    for folder in extra_dirs:
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                sources.append((str(path), path.read_text(encoding="utf-8")))
    themes = []
    for origin, text in sources:
        try:
            data = tomllib.loads(text)
            variables = {str(k): str(v) for k, v in data.pop("variables", {}).items()}
            themes.append(Theme(variables=variables, **data))
        except (tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
            raise TuivirtError(f"theme {origin}: {exc}") from None
    return themes


class FilterInput(Input):
    """The filter box, tuned for typing over a big table.

    - `on_value` runs in the value watcher, in the same call as the keystroke: the table
      and the status line change before the next frame, so a key costs one frame, not one
      for the box and a second after an Input.Changed message.
    - Input sets its virtual size to the text's width on every change, and virtual_size
      is a layout reactive: each keystroke laid out the whole screen again (5-8 ms with
      the table behind it). While the text fits in the box, the width that counts for
      scrolling is the box's own, so reporting that keeps the layout unchanged.
    """

    def __init__(self, on_value: Callable[[str], None], *, placeholder: str,
                 id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id)
        self._on_value = on_value

    def watch_value(self, value: str) -> None:
        self._on_value(value)

    @property
    def content_width(self) -> int:
        return max(super().content_width, self.scrollable_content_region.width)


class MainScreen(EditorHost):
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
        Binding("x", "edit", "XML"),
        Binding("E", "edit(True)", "$EDITOR", show=False),
        Binding("C", "clone", "Clone", show=False),
        Binding("N", "networks", "Networks"),
        Binding("c", "console", "Console", priority=True),  # as `/`: see action_console
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
        Binding("H", "group", "Group by host", show=False),
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
        self._console_serial = 0
        # Diffs that arrive before every widget is mounted (the table sits in a
        # container, mounted a step after the screen): applied in order once it is.
        self.early: list[Diff] | None = []

    def compose(self) -> ComposeResult:
        hosts = [(h.name, h.label, h.read_only) for h in self.config.hosts]
        yield HostPanel(hosts, clock=self.clock, id="hosts")
        yield FilterInput(self.filter_changed,
                          placeholder="filter: host:NAME state:running kind:docker text !negate",
                          id="filter")
        table = GuestTable(id="guests", clock=self.clock)
        table.host_labels = {h.name: h.label for h in self.config.hosts if h.label}
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
        app = self.app
        assert isinstance(app, TuivirtApp)
        for diff in early:
            app.apply_diff(diff)
        self.update_status()

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
        if table.group_by_host:
            parts.append("grouped by host")
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
        self.table.group_by_host = not self.table.group_by_host
        self.update_status()

    def action_hosts(self) -> None:
        panel = self.query_one(HostPanel)
        panel.display = not panel.display
        panel.refresh_text()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_act(self, action: str) -> None:
        app = self.app
        assert isinstance(app, TuivirtApp)
        app.request_action(action, self.table.targets())

    @on(GuestTable.CursorMoved)
    def cursor_moved(self) -> None:
        self.update_status()

    # -- the XML editor, clones, networks -------------------------------------------------
    def home(self) -> GuestTable:
        return self.table

    def action_edit(self, external: bool = False) -> None:
        """`x`: the guest's definition in the pane (docker: its inspect JSON, read-only)."""
        guest = self.table.current_guest
        if guest is None:
            self.notify("no guest under the cursor", severity="warning")
            return
        if guest.kind == DOCKER:
            self._show_inspect(guest)
            return
        self.open_definition(DefinitionRef(guest.host, "domain", guest.name, guest.endpoint,
                                           guest.id), external=external)

    def _show_inspect(self, guest: Guest) -> None:
        from tuivirt.ui.widgets.xml_editor import EditorPane

        fleet = self.fleet
        address = self.fleet.inventory.addresses([guest])[guest.key]

        def fetch() -> None:
            try:
                text = fleet.session(guest.host).dumpxml(guest)
            except TuivirtError as exc:
                self.app.call_from_thread(self.notify, f"{address}: {exc}", severity="error")
                return
            self.app.call_from_thread(self.show_editor, EditorPane(
                None, ref=None, base=text, text=text, language="json",
                title=f"{address} · docker inspect"))

        self.run_worker(fetch, thread=True, group="editor", exit_on_error=False)

    def action_clone(self) -> None:
        """`C`: copy a libvirt guest's definition to a new name, here or on another host."""
        from tuivirt.ui.screens.dialogs import Field, FormScreen

        guest = self.table.current_guest
        if guest is None or guest.kind == DOCKER:
            self.notify("clone copies a libvirt guest's definition: put the cursor on one",
                        severity="warning")
            return
        hosts = self.writable_libvirt_hosts()
        if not hosts:
            self.notify("every libvirt host is read-only: nowhere to define a clone",
                        severity="error")
            return
        source = DefinitionRef(guest.host, "domain", guest.name, guest.endpoint, guest.id)
        fields = [Field("name", "New name", f"{guest.name}-clone"),
                  Field("host", "Define it on host", guest.host if guest.host in hosts
                        else hosts[0], options=hosts)]
        self.app.push_screen(
            FormScreen(f"Clone {guest.host}/{guest.name}", fields, ok_label="Clone",
                       note="The uuid and every MAC address are removed (libvirt assigns "
                       "new ones); disks are not copied: review their paths next."),
            partial(self._clone_into, source))

    def _clone_into(self, source: DefinitionRef, values: dict[str, str] | None) -> None:
        if values is None:
            return
        host, name = values["host"], values["name"]

        def derive(xml: str) -> tuple[str, str]:
            result = clone.clone_domain(xml, name)
            return result.xml, clone_note(source, host, result)

        self.open_derived(source, DefinitionRef(host, "domain", name), derive, "clone")

    # -- consoles -------------------------------------------------------------------------
    def consoles(self) -> list[ConsolePane]:
        from tuivirt.ui.widgets.console import ConsolePane

        return list(self.query(ConsolePane))

    def console_tabs(self) -> TabbedContent | None:
        """The console tabs below the table (made with the first console, not at start)."""
        from textual.widgets import TabbedContent

        found = self.query("#consoles")
        if not found:
            return None
        tabs = found.first()
        assert isinstance(tabs, TabbedContent)
        return tabs

    def active_console(self) -> ConsolePane | None:
        from tuivirt.ui.widgets.console import ConsolePane

        tabs = self.console_tabs()
        if tabs is None or not tabs.display or not tabs.active:
            return None
        found = tabs.get_pane(tabs.active).query(ConsolePane)
        return found.first() if found else None

    async def action_console(self) -> None:
        """`c`: the guest's console in a tab below the table (or back to its tab).

        A priority binding, skipped unless the table has focus: a plain one runs while
        the keys typed behind `c` are already on their way to the table, where s, r,
        D... are actions on the guest under the cursor.
        """
        if self.focused is not self.table:
            raise SkipAction()
        from textual.content import Content
        from textual.widgets import TabbedContent, TabPane

        from tuivirt.text import inert
        from tuivirt.ui.widgets.console import ConsolePane

        guest = self.table.current_guest
        if guest is None:
            self.notify("no guest under the cursor", severity="warning")
            return
        tabs = self.console_tabs()
        for pane in self.consoles():
            if pane.guest.key == guest.key:
                tab = pane.parent
                if tabs is not None and isinstance(tab, TabPane) and tab.id:
                    tabs.active = tab.id
                self.set_focus(pane.terminal)  # now: keys typed behind `c` are the guest's
                return
        address = self.fleet.inventory.addresses([guest])[guest.key]
        self._console_serial += 1
        tab_id = f"con-{self._console_serial}"
        pane = ConsolePane(self.fleet, guest, address)
        if tabs is None:
            tabs = TabbedContent(id="consoles")
            await self.mount(tabs, after=self.query_one("#body"))
        await tabs.add_pane(TabPane(Content(inert(address)), pane, id=tab_id))  # not markup
        tabs.active = tab_id
        self.set_focus(pane.terminal)  # now: Widget.focus() would let the table have the
        # keys typed behind `c` (s, r, D... are actions there); they are the guest's

    def on_console_pane_leave(self) -> None:
        self.give_table_back()

    def give_table_back(self) -> None:
        """ctrl+] from a console: the table has the keys, and is shown if maximised away."""
        if self.maximized is not None:
            self.minimize()
        self.set_focus(self.table)  # now: Widget.focus() would defer it

    def _with_console(self, what: str) -> ConsolePane | None:
        pane = self.active_console()
        if pane is None:
            self.notify(f"no console open to {what}: `c` opens one", severity="warning")
        return pane

    def action_console_zoom(self) -> None:
        pane = self._with_console("maximise")
        if pane is None:
            return
        if self.maximized is not None:
            self.minimize()
        else:
            self.maximize(pane, container=False)
            pane.terminal.focus()

    def action_console_search(self) -> None:
        pane = self._with_console("search")
        if pane is not None:
            pane.start_search()

    def action_console_save(self) -> None:
        from tuivirt.ui.screens.dialogs import Field, FormScreen

        pane = self._with_console("save")
        if pane is None:
            return
        default = str(paths.state_dir() / "consoles" / (
            f"{pane.guest.host}-{paths.safe_name(pane.guest.name)}-"
            f"{time.strftime('%Y%m%dT%H%M%S')}.log"))

        def chosen(values: dict[str, str] | None) -> None:
            if values and values.get("path"):
                path = Path(values["path"]).expanduser()
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    self.notify(f"cannot save to {path}: {exc.strerror or exc}",
                                severity="error")
                    return
                pane.save_scrollback(str(path))

        self.app.push_screen(FormScreen(f"Save the scrollback of {pane.address}",
                                        [Field("path", "File", default)], ok_label="Save"),
                             chosen)

    def action_console_reconnect(self) -> None:
        pane = self._with_console("reconnect")
        if pane is not None:
            pane.take_over()

    def action_console_close(self) -> None:
        pane = self._with_console("close")
        if pane is None:
            return
        pane.close()
        tabs = self.console_tabs()
        assert tabs is not None
        if len(self.consoles()) == 1:
            tabs.remove()  # the last one: the table gets the whole height back
        elif pane.parent is not None and pane.parent.id:
            tabs.remove_pane(pane.parent.id)
        self.table.focus()

    def action_console_size(self, step: int) -> None:
        tabs = self.console_tabs()
        if tabs is None or not tabs.display:
            return
        height = tabs.outer_size.height + step  # its border too: 4 rows a press, not 3
        tabs.styles.height = max(6, min(self.size.height - 6, height))

    def action_networks(self) -> None:
        from tuivirt.ui.screens.networks import NetworksScreen

        self.app.push_screen(NetworksScreen(self.config))

    def action_import_lxc(self) -> None:
        """Convert a native LXC config on a host into a domain definition to review."""
        from tuivirt.ui.screens.dialogs import Field, FormScreen

        hosts = self.writable_libvirt_hosts()
        if not hosts:
            self.notify("no writable libvirt host", severity="error")
            return
        fields = [Field("host", "Host (the file is read there)", hosts[0], options=hosts),
                  Field("path", "Native LXC config", "", placeholder="/var/lib/lxc/NAME/config")]
        self.app.push_screen(FormScreen("Import an LXC container's native config", fields,
                                        ok_label="Convert"), self._import_lxc)

    def _import_lxc(self, values: dict[str, str] | None) -> None:
        if values is None or not values.get("path"):
            return
        fleet = self.fleet
        host, path = values["host"], values["path"]

        def convert() -> None:
            try:
                xml = fleet.session(host).import_native(path)
                name = (xmltools.parse(xml).findtext("name") or "imported").strip()
            except TuivirtError as exc:
                self.app.call_from_thread(self.notify, f"import {path}: "
                                          f"{getattr(exc, 'message', exc)}",
                                          severity="error", timeout=10)
                return
            self.app.call_from_thread(
                self.open_new, DefinitionRef(host, "domain", name), xml,
                f"Converted from {host}:{path} by libvirt (lxc-tools). Review, then "
                "ctrl+s defines it.")

        self.run_worker(convert, thread=True, group="editor", exit_on_error=False)


def clone_note(source: DefinitionRef, host: str, result: clone.CloneResult) -> str:
    """What the user must review before defining a clone: the storage it would use."""
    lines = [f"Clone of {source.host}/{source.name}: uuid and MAC addresses removed."]
    if result.disks:
        lines.append("Disks are NOT copied. As written, the clone uses:")
        for disk in result.disks:
            flag = " (shared/read-only)" if disk.shared else (
                "  ← the original's: change it or copy the image" if host == source.host
                and disk.source else "")
            lines.append(f"  {disk.device} {disk.target}: {disk.source or '(no source)'}"
                         f"{flag}")
        if host != source.host:
            lines.append(f"These paths must exist on {host}.")
    else:
        lines.append("It has no disks.")
    return "\n".join(lines)


class TuivirtApp(GuestKeysFirst, App[int]):
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
        self.fleet = fleet if fleet is not None else Fleet(config, live=True)
        self.start_sessions = start_sessions
        self.clock = clock
        self._unsubscribe: Callable[[], None] | None = None
        #: Fleet news (guest rows, host states, network changes), one Diff at a time, on
        #: the UI thread. Screens subscribe; a screen's subscription ends with it.
        self.fleet_changed: Signal[Diff] = Signal(self, "fleet_changed")
        for theme in load_themes([paths.config_dir() / "themes"]):
            self.register_theme(theme)
        self.theme = config.theme if config.theme in self.available_themes else "tuivirt-dark"
        self.first_rows_at: float | None = None  # for the startup benchmark

    def leave_terminal(self, terminal: TerminalView) -> None:
        self.main.give_table_back()

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

        def forward(diff: Diff) -> None:  # on session threads: post, nothing more
            with contextlib.suppress(RuntimeError):  # the app's loop closed under us
                self.post_message(InventoryChanged(diff))

        self._unsubscribe = self.fleet.inventory.subscribe(forward)
        # Rows already in the inventory (e.g. a fleet connected before the app).
        initial = Diff(added=tuple(self.fleet.inventory.guests()),
                       hosts=tuple(self.fleet.inventory.host_statuses()))
        if initial:
            self.post_message(InventoryChanged(initial))
        if self.start_sessions:
            self.fleet.start(self.gate)
        if all(s.heavy for s in self.fleet.sessions.values()):
            self.gate.set()  # nothing quick to show first: let everything connect
        else:
            self.set_timer(0.5, self.gate.set)  # never hold the others for long
        self.set_interval(15, self._tick)

    def _tick(self) -> None:
        # Uptimes move; nothing else needs a timer (events carry the rest).
        if (main := self.live_main) is not None:
            main.table.refresh()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        # A hung host must not hold the exit: close in the background.
        threading.Thread(target=self.fleet.close, daemon=True).start()

    def on_inventory_changed(self, message: InventoryChanged) -> None:
        main = self.live_main
        if main is None:
            return  # quitting: nothing left to show it on
        if main.early is not None:
            main.early.append(message.diff)
        else:
            self.apply_diff(message.diff)

    def apply_diff(self, diff: Diff) -> None:
        main = self.live_main
        if main is None:
            return
        try:
            table, panel = main.table, main.query_one(HostPanel)
        except NoMatches:
            return  # quitting: the screen's widgets are gone before the last diffs
        table.apply(diff)
        for status in diff.hosts:
            panel.update_status(status)
            if status.state == "lost":
                self.notify(f"host {status.name} lost: {status.reason}", severity="error",
                            timeout=6)
                # Its consoles: the session ends them with the reason (it owns them).
        self.fleet_changed.publish(diff)
        if self.first_rows_at is None and table.guests:
            self.first_rows_at = time.monotonic()
            self.call_after_refresh(self.gate.set)
        main.update_status()

    # -- actions ------------------------------------------------------------------------
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
        table = self.main.table
        for step in steps:
            table.set_busy([step.guest.key], step.action.doing)
            self.run_worker(partial(self._perform, step), thread=True, group="actions",
                            exit_on_error=False)

    def _perform(self, step: Step) -> None:
        """Runs in a worker thread; reports back with a message, never touches widgets."""
        guest, action, address = step.guest, step.action.value, step.address
        label = step.action.outcome(step.enable)
        try:
            session = self.fleet.session(guest.host)
            session.perform(guest, step.action, step.enable)
        except ActionTimedOut as exc:
            self.post_message(ActionDone(guest.key, address, action, label, exc.message))
            self._await_late(exc, guest, address, label)
            return
        except TuivirtError as exc:
            self.post_message(ActionDone(guest.key, address, action, label, exc.message))
            return
        except Exception as exc:  # a library error we did not expect: show it, don't crash
            self.post_message(ActionDone(guest.key, address, action, label,
                                         f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(ActionDone(guest.key, address, action, label, None))

    def _await_late(self, exc: ActionTimedOut, guest: Guest, address: str,
                    label: str) -> None:
        """(Worker thread.) An action that timed out may still land: say when it does."""
        from tuivirt.backends.deadline import Pending

        pending = exc.pending
        assert isinstance(pending, Pending)
        started = time.monotonic()
        if not pending.wait(LATE_OUTCOME_WAIT):
            return
        late = f"{time.monotonic() - started + exc.timeout:.0f} s after it was sent"
        if pending.error is None:
            outcome = f"{exc.action} (timed out earlier) took effect {late}: {label}"
            error = None
        else:
            what = message_of(pending.error)
            outcome = None
            error = f"(timed out earlier) failed {late}: {what}"
        with contextlib.suppress(RuntimeError):  # the app quit meanwhile
            self.post_message(ActionDone(guest.key, address, exc.action,
                                         outcome or label, error, late=True))

    def on_action_done(self, message: ActionDone) -> None:
        if (main := self.live_main) is not None:
            main.table.set_busy([message.key], None)
        if message.error is None:
            self.notify(f"{message.address}: {message.label}", timeout=10 if message.late
                        else 4)
        elif message.late:
            self.notify(f"{message.address}: {message.action} {message.error}",
                        severity="error", timeout=10)
        else:
            self.notify(f"{message.address}: {message.action} failed: {message.error}",
                        severity="error", timeout=10)

    # -- palette ------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not isinstance(screen, MainScreen):
            return
        for action in Action:
            if action in (Action.SUSPEND, Action.RESUME):
                continue
            yield SystemCommand(f"Guest: {action}", f"{action} the marked guests, or the "
                                "one under the cursor", partial(screen.action_act, action))
        yield SystemCommand("Guest: pause / resume", "pause running guests, resume paused",
                            partial(screen.action_act, PAUSE_TOGGLE))
        yield SystemCommand("Guest: edit XML", "the definition in the editor pane (x)",
                            screen.action_edit)
        yield SystemCommand("Guest: edit XML in $EDITOR", "then review it in the pane (E)",
                            partial(screen.action_edit, True))
        yield SystemCommand("Guest: clone definition", "copy to a new name, here or on "
                            "another host (C)", screen.action_clone)
        yield SystemCommand("Import LXC native config", "convert /var/lib/lxc/NAME/config "
                            "with libvirt, review, define", screen.action_import_lxc)
        yield SystemCommand("Networks", "every host's libvirt networks (N)",
                            screen.action_networks)
        yield SystemCommand("Table: filter", "filter rows (/)", screen.action_filter)
        yield SystemCommand("Table: clear marks", "unmark every guest",
                            screen.action_clear_marks)
        yield SystemCommand("Table: group by host", "toggle grouping (H)", screen.action_group)
        yield SystemCommand("Table: next sort column", "cycle sort (o)",
                            screen.action_sort_next)
        yield SystemCommand("Hosts: show / hide panel", "host states (h)",
                            screen.action_hosts)
        yield SystemCommand("Help: keys", "every key (?)", screen.action_help)


