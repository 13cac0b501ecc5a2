"""The images view (`I`): every host's Docker images in one table, one row per tag (a
dangling image is one `<none>` row), listed off the UI thread host by host; `/` filters
as in the guest table. What it changes (pull, push, tag, remove, prune, run, build):
changes.py."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from tuivirt.config import Config
from tuivirt.errors import TuivirtError
from tuivirt.inventory import Diff
from tuivirt.model import DOCKER, Image
from tuivirt.sizes import human_size
from tuivirt.text import inert
from tuivirt.ui.common.fleet_screen import FleetScreen
from tuivirt.ui.common.footer import KeyFooter
from tuivirt.ui.images.changes import ImageChanges
from tuivirt.ui.images.rows import ImageFilter, ImageRow, rows_of
from tuivirt.ui.table.filter import FilterError
from tuivirt.ui.table.filter_input import FilterInput

if TYPE_CHECKING:
    from textual.widget import Widget

    from tuivirt.session import HostSession

COLUMNS = ("host", "repository:tag", "id", "size", "created", "used by")
KEYS_HINT = ("p pull · u push · t tag · d remove (D forced) · X prune · n run · "
             "b build · / filter")


def list_host(session: HostSession) -> list[Image] | str:
    """(On a thread.) The host's images, or why they cannot be listed."""
    if not session.reachable:
        return f"{session.state} {session.reason}".strip()
    try:
        return session.images()
    except TuivirtError as exc:
        return exc.message


def age(created: float, now: float) -> str:
    """`12 s ago` ... `4 d ago`, then the date: the CLI's words (`tuivirt images`)."""
    from tuivirt.cli.images import age as cli_age

    return cli_age(created, now)


def users(names: tuple[str, ...]) -> Text:
    if not names:
        return Text("-", style="dim")
    shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    return Text(inert(f"{len(names)} ({shown})"), style="yellow")


class ImagesScreen(ImageChanges, FleetScreen):
    """`I` from the main screen; `esc`/`q` go back (esc clears a filter first)."""

    BINDINGS = [
        Binding("escape", "escape", "Back", show=False),
        Binding("q", "back", "Back"),
        # priority, as the guest table's: keys typed right after `/` reach the box
        Binding("slash", "filter", "Filter", priority=True),
        Binding("j", "cursor(1)", "Down", show=False),  # as in the guest table
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("p", "pull", "Pull"),
        Binding("u", "push", "Push"),
        Binding("t", "tag", "Tag"),
        Binding("d", "remove", "Remove"),
        Binding("D", "remove(True)", "Force remove", show=False),
        Binding("X", "prune", "Prune"),
        Binding("n", "run", "Run"),
        Binding("b", "build", "Build"),
        Binding("r", "reload", "Reload", show=False),
    ]
    DEFAULT_CSS = """
    ImagesScreen { layout: vertical; }
    ImagesScreen .title { height: 1; padding: 0 1; background: $primary 30%;
                          text-style: bold; }
    ImagesScreen #image-filter { height: 1; border: none; padding: 0 1;
                                 background: $panel; }
    ImagesScreen #image-filter.-invalid { color: $error; }
    ImagesScreen #images { height: 1fr; }
    ImagesScreen #host-errors { height: auto; padding: 0 1; color: $error; }
    ImagesScreen #host-errors.empty { display: none; }
    ImagesScreen #images-status { height: auto; padding: 0 1; background: $panel; }
    """

    def __init__(self, config: Config, *, images: list[Image] | None = None,
                 errors: dict[str, str] | None = None, autoload: bool = True) -> None:
        """With `autoload` False it shows the images given (snapshots, tests)."""
        super().__init__()
        self.config = config
        self.images: dict[str, list[Image]] = {}
        for image in images or []:
            self.images.setdefault(image.host, []).append(image)
        self.errors: dict[str, str] = errors or {}
        self.autoload = autoload
        self.loaded = not autoload
        self.rows: list[ImageRow] = []  # what the table shows, in its order
        self.filter = ImageFilter.parse("")
        self.filter_error: str | None = None
        self._select: tuple[str, str] | None = None  # (host, tag or id): cursor goes there

    def compose(self) -> ComposeResult:
        yield Static("Docker images", classes="title")
        yield FilterInput(self.filter_changed, id="image-filter",
                          placeholder="filter: host:NAME tag:REGEX id:HEX used:NAME text "
                                      "!negate")
        table: DataTable[Text] = DataTable(id="images", cursor_type="row",
                                           zebra_stripes=True)
        yield table
        # Hosts whose images are not listed, one line each, in their (inert) words.
        yield Static(id="host-errors", classes="empty", markup=False)
        yield Static(id="images-status", markup=False)
        yield KeyFooter()

    def table(self) -> DataTable[Text]:
        return self.query_one("#images", DataTable)

    def home(self) -> Widget:
        return self.table()

    def on_mount(self) -> None:
        self.query_one("#image-filter", Input).display = False
        self.table().add_columns(*COLUMNS)
        self.show()
        self.table().focus()
        if self.autoload:
            self.action_reload()
            self.follow_fleet()

    # -- listing ----------------------------------------------------------------------
    def docker_hosts(self) -> list[str]:
        return [h.name for h in self.config.hosts if h.docker]

    def action_reload(self) -> None:
        if not self.autoload:
            return
        # A job per host: each host's images show when they come; a hung one costs its
        # own deadline only.
        for name in self.docker_hosts():
            session = self.fleet.session(name)
            self.in_thread(partial(list_host, session), partial(self._host_listed, name),
                           what=f"host {name}: images not listed",
                           group=f"images:{name}", exclusive=True)

    def news_matters(self, diff: Diff) -> bool:
        """A host came or went, or a container was made or removed ("used by")."""
        return super().news_matters(diff) or any(
            g.kind == DOCKER for g in diff.added) or any(
            key.split("/", 1)[-1].startswith(f"{DOCKER}:") for key in diff.removed)

    def _host_listed(self, host: str, found: list[Image] | str) -> None:
        self.loaded = True
        if isinstance(found, str):
            self.images.pop(host, None)
            self.errors[host] = found
        else:
            self.images[host] = found
            self.errors.pop(host, None)
        self.show()

    def show(self) -> None:
        """The table again from `images` (the cursor stays on its row, or goes to the
        one asked for by `select`)."""
        table = self.table()
        current = self.current_row
        keep = current.key if current is not None else None
        every = rows_of([i for host in sorted(self.images) for i in self.images[host]])
        self.rows = [r for r in every if self.filter.matches(r)] if self.filter else every
        now = self.now()
        table.clear()
        table.add_rows([
            (Text(inert(r.host), style=self.host_label(r.host)),
             Text(inert(r.tag), style="bold") if r.tag else Text("<none>", style="dim"),
             Text(r.image.short_id),  # hex (the daemon's; shown as inert as the rest)
             Text(human_size(r.image.size), justify="right"),
             Text(age(r.image.created, now)),
             users(r.image.used_by))
            for r in self.rows])
        target = None
        if self._select is not None:
            host, ref = self._select
            target = next((n for n, r in enumerate(self.rows) if host in ("", r.host)
                           and ref in (r.tag, r.image.id)), None)
            if target is not None:
                self._select = None
        if target is None and keep is not None:
            target = next((n for n, r in enumerate(self.rows) if r.key == keep), None)
        if target is not None:
            table.move_cursor(row=target)
        lines = [f"host {inert(host)}: {inert(why)} (its images are not listed)"
                 for host, why in sorted(self.errors.items())]
        shown = self.query_one("#host-errors", Static)
        shown.update("\n".join(lines))
        shown.set_class(not lines, "empty")
        self.show_status()

    def show_status(self) -> None:
        images = sum(len(found) for found in self.images.values())
        rows = sum(len(rows_of(found)) for found in self.images.values())
        hosts = len(self.images)
        parts = [f"{images} image{'s' * (images != 1)} on {hosts} host{'s' * (hosts != 1)}"
                 if self.loaded else "loading…"]
        if len(self.rows) != rows:
            parts.append(f"{len(self.rows)} of {rows} rows shown")
        if self.filter:
            parts.append(f"filter: {inert(self.filter.text)}")
        if self.filter_error:
            parts.append(f"filter error: {inert(self.filter_error)}")
        parts.append(KEYS_HINT)
        self.query_one("#images-status", Static).update(" · ".join(parts))

    def now(self) -> float:
        import time

        clock = getattr(self.app, "clock", None)
        return float(clock()) if callable(clock) else time.time()

    @property
    def current_row(self) -> ImageRow | None:
        row = self.table().cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def select(self, host: str, reference: str) -> None:
        """The cursor on host's `reference` (a tag or an id) once a listing shows it
        (host "": on any host)."""
        self._select = (host, reference)

    # -- the filter ---------------------------------------------------------------------
    def action_filter(self) -> None:
        if self.focused is not self.table():
            raise SkipAction()  # a `/` typed in the filter box or a form
        box = self.query_one("#image-filter", Input)
        box.display = True
        self.set_focus(box)

    def filter_changed(self, value: str) -> None:
        box = self.query_one("#image-filter", Input)
        try:
            self.filter = ImageFilter.parse(value)
        except FilterError as exc:
            self.filter_error = str(exc)  # the last good filter stays
            box.add_class("-invalid")
            self.show_status()
            return
        self.filter_error = None
        box.remove_class("-invalid")
        if self.is_mounted:
            self.show()

    @on(Input.Submitted, "#image-filter")
    def filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.clear_filter()
        else:
            self.set_focus(self.table())

    def clear_filter(self) -> None:
        box = self.query_one("#image-filter", Input)
        box.value = ""
        box.display = False
        self.set_focus(self.table())

    # -- moving, leaving ------------------------------------------------------------------
    def action_escape(self) -> None:
        box = self.query_one("#image-filter", Input)
        if box.display:
            self.clear_filter()
        else:
            self.action_back()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_cursor(self, delta: int) -> None:
        table = self.table()
        table.move_cursor(row=max(0, table.cursor_row + delta))
