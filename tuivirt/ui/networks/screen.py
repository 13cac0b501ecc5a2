"""The networks view: every libvirt network of every host, with the same XML editor."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Static

from tuivirt import clone
from tuivirt.config import Config
from tuivirt.errors import TuivirtError, read_only_refusal
from tuivirt.inventory import Diff
from tuivirt.model import DefinitionRef, Network
from tuivirt.text import inert
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import Field, FormScreen
from tuivirt.ui.editor.host import EditorHost

COLUMNS = ("host", "name", "active", "autostart", "persistent", "bridge", "IP range")


class NetworksScreen(EditorHost):
    """`N` from the main screen; `esc`/`q` go back."""

    BINDINGS = [
        Binding("escape,q", "back", "Back"),
        Binding("s", "act('start')", "Start"),
        Binding("S", "act('stop')", "Stop"),
        Binding("a", "act('autostart')", "Autostart"),
        Binding("x", "edit", "XML"),
        Binding("c", "clone", "New from this"),
        Binding("U", "act('undefine')", "Undefine", show=False),
        Binding("r", "reload", "Refresh"),
    ]
    DEFAULT_CSS = """
    NetworksScreen { layout: vertical; }
    NetworksScreen #nets-title { height: 1; padding: 0 1; background: $primary 30%;
                                 text-style: bold; }
    NetworksScreen #body { height: 1fr; }
    NetworksScreen DataTable { height: 1fr; width: 1fr; }
    NetworksScreen #nets-status { height: auto; padding: 0 1; background: $panel; }
    """

    def __init__(self, config: Config, *, networks: list[Network] | None = None,
                 autoload: bool = True) -> None:
        super().__init__()
        self.config = config
        self.networks: list[Network] = networks or []
        self.errors: dict[str, str] = {}
        self.autoload = autoload

    def home(self) -> DataTable[Text]:
        return self.query_one("#nets", DataTable)

    def compose(self) -> ComposeResult:
        yield Static("Networks", id="nets-title")
        with Horizontal(id="body"):
            table: DataTable[Text] = DataTable(id="nets", cursor_type="row",
                                               zebra_stripes=True)
            yield table
        yield Static(id="nets-status", markup=False)  # quotes the daemons' errors
        yield Footer()

    def on_mount(self) -> None:
        table = self.home()
        table.add_columns(*COLUMNS)
        self.show_networks(self.networks, self.errors)
        table.focus()
        if self.autoload:
            self.action_reload()
            self.follow_fleet()

    def news_matters(self, diff: Diff) -> bool:
        """A network changed, or a host connected or was lost (its networks appear or go;
        opened at start-up, the view would otherwise miss a host still connecting)."""
        return bool(diff.networks) or super().news_matters(diff)

    # -- data -----------------------------------------------------------------------------
    def action_reload(self) -> None:
        fleet = self.fleet

        def load() -> tuple[list[Network], dict[str, str]]:
            networks: list[Network] = []
            errors: dict[str, str] = {}
            for name, session in fleet.sessions.items():
                if not session.host.libvirt:
                    continue
                if not session.reachable:
                    errors[name] = f"{session.state} {session.reason}".strip()
                    continue
                try:
                    networks.extend(session.networks())
                except TuivirtError as exc:
                    errors[name] = exc.message
            return networks, errors

        self.in_thread(load, lambda loaded: self.show_networks(*loaded),
                       what="networks not loaded", group="networks", exclusive=True)

    def show_networks(self, networks: list[Network], errors: dict[str, str]) -> None:
        table = self.home()
        current = self.current
        self.networks = sorted(networks, key=lambda n: (n.host, n.name))
        self.errors = errors
        table.clear()
        for net in self.networks:
            label = self.host_label(net.host)
            table.add_row(
                # Names, bridges and ranges are the daemon's: drawn inert.
                Text(inert(net.host), style=label), Text(inert(net.name), style="bold"),
                Text("active", style="green") if net.active else Text("inactive",
                                                                       style="dim"),
                Text("yes" if net.autostart else "no"),
                Text("yes" if net.persistent else "transient"),
                Text(inert(net.bridge or "-")), Text(inert(", ".join(net.ranges) or "-")),
                key=f"{net.host}/{net.name}")
        if current is not None:
            for row, net in enumerate(self.networks):
                if (net.host, net.name) == (current.host, current.name):
                    table.move_cursor(row=row)
        parts = [f"{len(self.networks)} networks"]
        parts += [f"host {inert(host)}: {inert(why)}" for host, why in sorted(errors.items())]
        self.query_one("#nets-status", Static).update(" · ".join(parts))

    @property
    def current(self) -> Network | None:
        table = self.query_one("#nets", DataTable)
        if not self.networks or table.cursor_row < 0 or table.cursor_row >= len(
                self.networks):
            return None
        return self.networks[table.cursor_row]

    # -- actions ------------------------------------------------------------------------
    def action_back(self) -> None:
        editor = self.editor
        if editor is not None and editor.applying:
            self.notify("an apply is running: wait for its outcome", severity="warning")
            return
        if editor is not None and editor.modified:
            editor.save_draft_now()
            self.notify(f"{editor.title_text}: unapplied changes kept as a draft", timeout=5)
        self.app.pop_screen()

    def action_act(self, action: str) -> None:
        net = self.current
        if net is None:
            self.notify("no network under the cursor", severity="warning")
            return
        if self.read_only(net.host):
            self.notify(read_only_refusal(net.host, f"{action} network {net.name}"),
                        severity="error", timeout=6)
            return
        enable = not net.autostart
        label = f"{net.host}/network:{net.name}"
        if action == "stop":
            self.app.push_screen(ConfirmScreen(
                "Stop 1 network?", [f"{label}  (bridge {net.bridge or '-'}): guests on it "
                                    "lose their link"], confirm_label="Stop"),
                lambda ok: self._run(net, action, enable) if ok else None)
        elif action == "undefine":
            self.app.push_screen(ConfirmScreen(
                "Undefine 1 network?", [f"{label}  (its definition is deleted)"],
                typed=net.name, confirm_label="Undefine"),
                lambda ok: self._run(net, action, enable) if ok else None)
        else:
            self._run(net, action, enable)

    def _run(self, net: Network, action: str, enable: bool) -> None:
        fleet = self.fleet
        words = {"start": "started", "stop": "stopped", "undefine": "undefined",
                 "autostart": f"autostart {'on' if enable else 'off'}"}

        def go() -> None:
            fleet.session(net.host).network_action(net, action, enable)

        def done(_: None) -> None:
            self.notify(f"{net.host}/network:{net.name}: {words[action]}", timeout=4)
            self.action_reload()

        def failed(error: BaseException) -> None:
            self.job_failed(what, error)
            self.action_reload()  # it may have half happened: show what is

        what = f"{net.host}/network:{net.name}: {action} failed"
        self.in_thread(go, done, what=what, group="net-actions", failed=failed)

    def action_edit(self) -> None:
        net = self.current
        if net is None:
            self.notify("no network under the cursor", severity="warning")
            return
        self.open_definition(DefinitionRef(net.host, "network", net.name, net.endpoint,
                                           net.uuid))

    def action_clone(self) -> None:
        """Define a new network from this one: new name, bridge and address range."""
        net = self.current
        if net is None:
            self.notify("no network under the cursor", severity="warning")
            return
        hosts = self.writable_libvirt_hosts()
        if not hosts:
            self.notify("every libvirt host is read-only", severity="error")
            return
        fields = [Field("name", "New name", f"{net.name}-2"),
                  Field("bridge", "Bridge (empty: libvirt picks virbrN)", ""),
                  Field("cidr", "Address range (empty: keep; e.g. 10.77.50.0/24)", ""),
                  Field("host", "Define it on host", net.host if net.host in hosts
                        else hosts[0], options=hosts)]
        source = DefinitionRef(net.host, "network", net.name, net.endpoint, net.uuid)
        self.app.push_screen(FormScreen(f"New network from {net.host}/{net.name}", fields,
                                        ok_label="Next: review"),
                             partial(self._clone_into, source))

    def _clone_into(self, source: DefinitionRef, values: dict[str, str] | None) -> None:
        if values is None:
            return
        name, bridge, cidr = values["name"], values["bridge"], values["cidr"]

        def derive(xml: str) -> tuple[str, str]:
            text = clone.clone_network(xml, name, bridge or None, cidr or None)
            note = (f"From {source.host}/network:{source.name}: uuid and MAC removed"
                    + (f", bridge {bridge}" if bridge else ", bridge name left to libvirt")
                    + (f", addresses {cidr}" if cidr
                       else ", same addresses (change them if both will run)")
                    + ". Review, then ctrl+s defines it.")
            return text, note

        self.open_derived(source, DefinitionRef(values["host"], "network", name), derive,
                          "new network")
