"""The storage view: every host's pools, and below them the volumes of the pool under the
cursor, both listed off the UI thread (what it changes: changes.py)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from tuivirt.config import Config
from tuivirt.errors import TuivirtError
from tuivirt.model import Pool, Volume
from tuivirt.sizes import human_size
from tuivirt.text import inert
from tuivirt.ui.common.fleet_screen import FleetScreen
from tuivirt.ui.common.workers import error_text
from tuivirt.ui.storage.changes import PoolKey, StorageChanges

if TYPE_CHECKING:
    from tuivirt.session import HostSession

POOL_COLUMNS = ("host", "pool", "type", "state", "autostart", "capacity", "allocation",
                "available")
VOLUME_COLUMNS = ("name", "format", "capacity", "allocation", "used by")


def list_host(session: HostSession) -> list[Pool] | str:
    """(On a thread.) The host's pools, or why they cannot be listed."""
    if not session.reachable:
        return f"{session.state} {session.reason}".strip()
    try:
        return session.pools()
    except TuivirtError as exc:
        return exc.message


class StorageScreen(StorageChanges, FleetScreen):
    """`P` from the main screen; `esc`/`q` go back. `enter`/`tab` move to the volumes."""

    BINDINGS = [
        Binding("escape,q", "back", "Back"),
        Binding("j", "cursor(1)", "Down", show=False),  # as in the guest table
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("n", "new_volume", "New volume"),
        Binding("R", "resize", "Resize"),
        Binding("d,D", "delete", "Delete volume"),
        Binding("r", "pool('refresh')", "Refresh pool"),
        Binding("s", "pool('start')", "Start pool"),
        Binding("S", "pool('stop')", "Stop pool"),
        Binding("a", "pool('autostart')", "Autostart"),
    ]
    DEFAULT_CSS = """
    StorageScreen { layout: vertical; }
    StorageScreen .title { height: 1; padding: 0 1; background: $primary 30%;
                           text-style: bold; }
    StorageScreen #pools { height: auto; max-height: 40%; }
    StorageScreen #host-errors { height: auto; padding: 0 1; color: $error; }
    StorageScreen #host-errors.empty { display: none; }
    StorageScreen #volumes { height: 1fr; }
    StorageScreen #storage-status { height: auto; padding: 0 1; background: $panel; }
    """

    def __init__(self, config: Config, *, pools: list[Pool] | None = None,
                 volumes: dict[PoolKey, list[Volume]] | None = None,
                 errors: dict[str, str] | None = None, autoload: bool = True) -> None:
        """With `autoload` False it shows the pools and volumes given (snapshots)."""
        super().__init__()
        self.config = config
        self.pools: list[Pool] = pools or []
        self.errors: dict[str, str] = errors or {}
        self.given_volumes = volumes or {}
        self.volumes: list[Volume] = []
        self.volumes_of: PoolKey | None = None  # the pool the volume table is about
        self.volumes_note = ""  # why the volume table is empty (inactive, failed...)
        self.autoload = autoload
        self.loaded = not autoload  # the first pool listing has come back
        self._select_volume: str | None = None  # after a create: the cursor goes there

    def compose(self) -> ComposeResult:
        yield Static("Storage pools", classes="title")
        pools: DataTable[Text] = DataTable(id="pools", cursor_type="row",
                                           zebra_stripes=True)
        yield pools
        # Hosts whose pools are not listed, one line each, in their (inert) words.
        yield Static(id="host-errors", classes="empty", markup=False)
        yield Static("Volumes", id="volumes-title", classes="title", markup=False)
        volumes: DataTable[Text] = DataTable(id="volumes", cursor_type="row",
                                             zebra_stripes=True)
        yield volumes
        yield Static(id="storage-status", markup=False)
        yield Footer()

    def pool_table(self) -> DataTable[Text]:
        return self.query_one("#pools", DataTable)

    def volume_table(self) -> DataTable[Text]:
        return self.query_one("#volumes", DataTable)

    def on_mount(self) -> None:
        self.pool_table().add_columns(*POOL_COLUMNS)
        self.volume_table().add_columns(*VOLUME_COLUMNS)
        self.show_pools(self.pools, self.errors)
        self.load_volumes()
        self.pool_table().focus()
        if self.autoload:
            self.action_reload()
            # A host connected or was lost: its pools appear or go (libvirt sends no
            # storage events we follow; `r` refreshes a pool, any change here reloads).
            self.follow_fleet()

    # -- pools --------------------------------------------------------------------------
    def action_reload(self) -> None:
        if not self.autoload:
            return
        # A job per host: each host's pools show when they come, and a hung one costs
        # its own deadline only (nobody waits for its thread, not even at exit).
        for session in self.fleet.sessions.values():
            if session.host.libvirt:
                self.in_thread(partial(list_host, session),
                               partial(self._host_listed, session.name),
                               what=f"host {session.name}: storage pools not listed",
                               group=f"pools:{session.name}", exclusive=True)

    def _host_listed(self, host: str, found: list[Pool] | str) -> None:
        """One host's pools, or why there are none (a string)."""
        self.loaded = True
        pools = [p for p in self.pools if p.host != host]
        errors = {name: why for name, why in self.errors.items() if name != host}
        if isinstance(found, str):
            errors[host] = found
        else:
            pools += found
        self.show_pools(pools, errors)
        current = self.current_pool
        # The volumes again when they are this host's (they may have changed) or their
        # pool is no longer the one under the cursor; another host's news leaves them.
        if current is None or current.host == host or (
                current.host, current.name) != self.volumes_of:
            self.load_volumes()

    def show_pools(self, pools: list[Pool], errors: dict[str, str]) -> None:
        table = self.pool_table()
        current = self.current_pool
        self.pools = sorted(pools, key=lambda p: (p.host, p.name))
        self.errors = errors
        table.clear()
        for pool in self.pools:
            sizes = ([human_size(pool.capacity), human_size(pool.allocation),
                      human_size(pool.available)] if pool.active else ["-", "-", "-"])
            table.add_row(
                # Host, pool and type names are the daemon's: drawn inert.
                Text(inert(pool.host), style=self.host_label(pool.host)),
                Text(inert(pool.name), style="bold"), Text(inert(pool.type)),
                Text("active", style="green") if pool.active else Text("inactive",
                                                                        style="dim"),
                Text("yes" if pool.autostart else "no"),
                *(Text(size, justify="right") for size in sizes),
                key=f"{pool.host}/{pool.name}")
        if current is not None:
            for row, pool in enumerate(self.pools):
                if (pool.host, pool.name) == (current.host, current.name):
                    table.move_cursor(row=row)
        lines = [f"host {inert(host)}: {inert(why)} (its pools are not listed)"
                 for host, why in sorted(errors.items())]
        shown = self.query_one("#host-errors", Static)
        shown.update("\n".join(lines))
        shown.set_class(not lines, "empty")

    @property
    def current_pool(self) -> Pool | None:
        row = self.pool_table().cursor_row
        return self.pools[row] if 0 <= row < len(self.pools) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        pool = self.current_pool
        if event.data_table.id == "pools" and pool is not None and (
                pool.host, pool.name) != self.volumes_of:
            self.load_volumes()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "pools":  # enter: on to its volumes
            self.volume_table().focus()

    # -- volumes ------------------------------------------------------------------------
    def load_volumes(self) -> None:
        pool = self.current_pool
        if pool is None:
            self.show_volumes(None, [], "no storage pools" if self.loaded else "loading…")
            return
        key = (pool.host, pool.name)
        if not self.autoload:
            self.show_volumes(key, self.given_volumes.get(key, []))
            return
        if not pool.active:
            self.show_volumes(key, [], "the pool is inactive: s starts it")
            return
        if key != self.volumes_of:
            self.show_volumes(key, [], "loading…")
        session = self.fleet.session(pool.host)

        def failed(error: BaseException) -> None:
            self.job_failed(what, error)
            if self.volumes_of == key:
                self.show_volumes(key, [], f"not listed: {error_text(error)}")

        what = f"{pool.host}/{pool.name}: volumes not listed"
        self.in_thread(partial(session.volumes, pool.name),
                       lambda found: self.show_volumes(key, found)
                       if self.volumes_of == key else None,
                       what=what, group="volumes", exclusive=True, failed=failed)

    def show_volumes(self, key: PoolKey | None, volumes: list[Volume],
                     note: str = "") -> None:
        table = self.volume_table()
        current = self.current_volume
        keep = self._select_volume or (current.name if current is not None
                                       and key == self.volumes_of else None)
        self.volumes_of, self.volumes, self.volumes_note = key, volumes, note
        table.clear()
        table.add_rows([
            (Text(inert(v.name), style="bold"), Text(inert(v.format or "-")),
             Text(human_size(v.capacity), justify="right"),
             Text(human_size(v.allocation), justify="right"),
             Text(inert(", ".join(v.used_by)) if v.used_by else "-",
                  style="yellow" if v.used_by else "dim"))
            for v in volumes])
        if keep is not None:
            for row, volume in enumerate(volumes):
                if volume.name == keep:
                    table.move_cursor(row=row)
                    self._select_volume = None
        where = f"{inert(key[0])}/{inert(key[1])}" if key else ""
        title = f"Volumes of {where}" if key else "Volumes"
        if note:
            title += f": {inert(note)}"  # may quote a daemon
        elif key:
            title += f" ({len(volumes)})"
        self.query_one("#volumes-title", Static).update(title)
        pools, hosts = len(self.pools), len({p.host for p in self.pools})
        self.query_one("#storage-status", Static).update(
            f"{pools} pool{'s' * (pools != 1)} on {hosts} host{'s' * (hosts != 1)} · "
            "enter/tab: to the volumes · R, d: the volume under the cursor")

    @property
    def current_volume(self) -> Volume | None:
        row = self.volume_table().cursor_row
        return self.volumes[row] if 0 <= row < len(self.volumes) else None

    # -- actions ------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_cursor(self, delta: int) -> None:
        table = self.focused
        if isinstance(table, DataTable):
            table.move_cursor(row=max(0, table.cursor_row + delta))
