"""The guest table: every guest on every host, one line each, updated row by row.

A line-API widget rather than a DataTable: it draws only the visible lines, so 5000 rows
filter, sort and update in milliseconds, and an event for one guest repaints one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tuivirt.inventory import Diff, HostStatus
from tuivirt.model import Guest
from tuivirt.text import inert
from tuivirt.ui.table.columns import COLUMNS, SORT_KEYS, STATE_CLASS, fit, plain_cell
from tuivirt.ui.table.filter import GuestFilter, haystack


class GuestTable(ScrollView, can_focus=True):
    """Rows keyed by guest key; marks and the cursor survive filtering and updates.

    | Key | Action |
    | :- | :- |
    | `j` / `down` | Next row. |
    | `k` / `up` | Previous row. |
    | `g` / `home` | First row. |
    | `G` / `end` | Last row. |
    | `pagedown` / `pageup` | A screen down / up. |
    """

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False),
        Binding("k,up", "cursor_up", "Up", show=False),
        Binding("g,home", "first", "First", show=False),
        Binding("G,end", "last", "Last", show=False),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
    ]
    COMPONENT_CLASSES = {
        "guest-table--header", "guest-table--cursor", "guest-table--marked",
        "guest-table--stale", "guest-table--busy", "guest-table--state-running",
        "guest-table--state-paused", "guest-table--state-shutoff",
        "guest-table--state-crashed", "guest-table--state-transition",
        "guest-table--group",
    }
    DEFAULT_CSS = """
    GuestTable {
        background: $surface;
        color: $foreground;
        scrollbar-gutter: stable;
        & > .guest-table--header { text-style: bold; color: $primary; background: $panel; }
        & > .guest-table--cursor { background: $primary 35%; }
        & > .guest-table--marked { color: $accent; text-style: bold; }
        & > .guest-table--stale { color: $foreground 40%; text-style: italic; }
        & > .guest-table--busy { color: $accent; text-style: italic; }
        & > .guest-table--state-running { color: $state-running; }
        & > .guest-table--state-paused { color: $state-paused; }
        & > .guest-table--state-shutoff { color: $state-shutoff; }
        & > .guest-table--state-crashed { color: $state-crashed; text-style: bold; }
        & > .guest-table--state-transition { color: $state-transition; }
        & > .guest-table--group { color: $secondary; text-style: bold; background: $panel; }
        &:focus > .guest-table--cursor { background: $primary 55%; }
    }
    """

    class CursorMoved(Message):
        def __init__(self, guest: Guest | None) -> None:
            self.guest = guest
            super().__init__()

    sort_column: reactive[str] = reactive("host")
    sort_reverse: reactive[bool] = reactive(False)
    #: "" (no groups), "host" or "tag" (`H` cycles them). By tag, a host with several
    #: tags shows its guests under each (the same guest key on several rows).
    group_by: reactive[str] = reactive("")

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.guests: dict[str, Guest] = {}
        self._hay: dict[str, str] = {}  # key -> what plain filter words search
        self._sorted: list[str] | None = None  # every guest key in sort order (a cache)
        self.rows: list[str] = []  # visible guest keys in display order ("\0host": group)
        self._visible = 0  # guests among the rows (group lines excluded)
        self._styles: dict[tuple[str, str, bool], Style] = {}
        self._index: dict[str, int] = {}
        self.marks: set[str] = set()
        self.busy: dict[str, str] = {}  # key -> action in flight
        self.host_states: dict[str, HostStatus] = {}
        self.host_labels: dict[str, str] = {}
        self.host_tags: dict[str, tuple[str, ...]] = {}  # from the config: tag: words
        self.filter = GuestFilter.parse("")
        self.cursor = 0
        self._user_moved = False  # until the user moves, the cursor stays on the first row
        self._clock = clock
        self._name_width = COLUMNS[3].width

    # -- data in ------------------------------------------------------------------------
    def apply(self, diff: Diff) -> None:
        """Apply an inventory diff, touching only the rows it names."""
        relayout = False
        for status in diff.hosts:
            old_status = self.host_states.get(status.name)
            self.host_states[status.name] = status
            if not status.same_rows(old_status):  # not for a latency that moved
                self._refresh_host(status.name)
        for key in diff.removed:
            if self.guests.pop(key, None) is not None:
                self._hay.pop(key, None)
                self._sorted = None
                self.marks.discard(key)
                self.busy.pop(key, None)
                relayout = relayout or key in self._index
        for guest in (*diff.added, *diff.changed):
            old = self.guests.get(guest.key)
            self.guests[guest.key] = guest
            hay = self._hay[guest.key] = haystack(guest)
            visible = guest.key in self._index
            wanted = self.filter.matches(guest, hay, self.host_tags)
            moved = old is not None and self._sort_value(old) != self._sort_value(guest)
            if old is None or moved:
                self._sorted = None
            if visible != wanted or (wanted and (old is None or moved)):
                relayout = True  # appears, disappears, or changes place
            elif visible and self.group_by == "tag":
                self.refresh()  # the guest may show under several tags
            elif visible:
                self._refresh_row(self._index[guest.key])  # the one line, nothing else
        if relayout:
            self.relayout()

    def _sort_value(self, guest: Guest) -> object:
        return SORT_KEYS[self.sort_column](guest)

    def set_filter(self, guest_filter: GuestFilter) -> None:
        self.filter = guest_filter
        self.relayout()

    def relayout(self) -> None:
        """Recompute visible rows (filter, sort, groups); keep the cursor on its guest."""
        current = self.current_key
        guests = self.guests
        if self._sorted is None:
            keyfn = SORT_KEYS[self.sort_column]
            ordered = sorted(guests.values(), key=keyfn,  # type: ignore[arg-type]
                             reverse=self.sort_reverse)
            self._sorted = [g.key for g in ordered]
            # Sized for every guest, not the filtered few: columns do not jump as you type.
            longest = max((cell_len(inert(g.name)) for g in ordered), default=0)
            self._name_width = max(COLUMNS[3].width, min(48, longest))
        chosen = self.filter.select(self._sorted, guests, self._hay, self.host_tags) \
            if self.filter else list(self._sorted)
        if self.group_by == "host":
            chosen.sort(key=lambda k: guests[k].host)  # stable: keeps the order in a group
            rows: list[str] = []
            last = None
            for key in chosen:
                host = guests[key].host
                if host != last:
                    rows.append(f"\0{host}")
                    last = host
                rows.append(key)
            self.rows = rows
        elif self.group_by == "tag":
            self.rows = self._tag_groups(chosen)
        else:
            self.rows = chosen
        self._visible = len(chosen)
        index: dict[str, int] = {}
        for i, key in enumerate(self.rows):
            index.setdefault(key, i)  # by tag, a guest's first row
        self._index = index
        width = sum(c.width + 1 for c in COLUMNS) + self._name_width - COLUMNS[3].width
        self._set_virtual_size(Size(width, len(self.rows) + 1))
        if not self._user_moved:
            self.cursor = 0
        elif current is not None and current in self._index:
            self.cursor = self._index[current]
        self.cursor = max(0, min(self.cursor, len(self.rows) - 1))
        if self.rows and self.rows[self.cursor].startswith("\0"):
            self.cursor = min(self.cursor + 1, len(self.rows) - 1)
        self._scroll_cursor_into_view()
        self.refresh()
        if self.current_key != current:  # the status line is redrawn by the caller anyway
            self.post_message(self.CursorMoved(self.current_guest))

    def _tag_groups(self, chosen: list[str]) -> list[str]:
        """A heading per tag (sorted; hosts without tags last), each tagged host's rows
        under every tag it has. Headings are "\0#TAG" (no host name starts with #)."""
        groups: dict[str, list[str]] = {}
        untagged: list[str] = []
        guests, tags = self.guests, self.host_tags
        for key in chosen:
            host_tags = tags.get(guests[key].host, ())
            for tag in host_tags:
                groups.setdefault(tag, []).append(key)
            if not host_tags:
                untagged.append(key)
        rows: list[str] = []
        for tag in sorted(groups):
            rows.append(f"\0#{tag}")
            rows.extend(groups[tag])
        if untagged:
            rows.append("\0#")
            rows.extend(untagged)
        return rows

    def _set_virtual_size(self, size: Size) -> None:
        """Resize the scrollable area, without a screen layout when none is needed.

        virtual_size is a layout reactive: every change re-arranges the whole screen,
        a third of a filter keystroke's time with 5000 rows. When only the row count
        changes and the vertical scrollbar stays as it was (its gutter is reserved:
        scrollbar-gutter: stable), updating the scrollbars is enough.
        """
        old = self.virtual_size
        if size == old:
            return
        height = self.scrollable_content_region.height
        same_bar = (old.height > height) == (size.height > height)
        quick = getattr(self, "_scroll_update", None)
        if size.width == old.width and same_bar and quick is not None and height > 0:
            self.set_reactive(GuestTable.virtual_size, size)
            quick(size)
        else:
            self.virtual_size = size

    def on_focus(self) -> None:
        self.refresh()  # the cursor's colour follows focus

    def on_blur(self) -> None:
        self.refresh()

    def watch_sort_column(self) -> None:
        self._sorted = None
        self.relayout()
        self.post_message(self.CursorMoved(self.current_guest))  # the status line shows it

    def watch_sort_reverse(self) -> None:
        self._sorted = None
        self.relayout()
        self.post_message(self.CursorMoved(self.current_guest))

    @property
    def group_by_host(self) -> bool:
        return self.group_by == "host"

    def watch_group_by(self) -> None:
        self.relayout()
        self.post_message(self.CursorMoved(self.current_guest))

    # -- queries ------------------------------------------------------------------------
    @property
    def current_key(self) -> str | None:
        if 0 <= self.cursor < len(self.rows) and not self.rows[self.cursor].startswith("\0"):
            return self.rows[self.cursor]
        return None

    @property
    def current_guest(self) -> Guest | None:
        key = self.current_key
        return self.guests.get(key) if key else None

    def targets(self) -> list[Guest]:
        """Marked guests (in display order, hidden ones too), else the one under the cursor."""
        if self.marks:
            # dict.fromkeys: grouped by tag, a guest can be on several rows.
            marked = [self.guests[k] for k in dict.fromkeys(self.rows) if k in self.marks]
            hidden = [self.guests[k] for k in sorted(self.marks)
                      if k not in self._index and k in self.guests]
            return marked + hidden
        guest = self.current_guest
        return [guest] if guest else []

    def visible_count(self) -> int:
        return self._visible

    # -- marks and busy rows ------------------------------------------------------------
    def toggle_mark(self) -> None:
        key = self.current_key
        if key is None:
            return
        if key in self.marks:
            self.marks.discard(key)
        else:
            self.marks.add(key)
        if self.group_by == "tag":
            self.refresh()  # its other rows, under its other tags
        else:
            self._refresh_row(self.cursor)
        self.action_cursor_down()

    def clear_marks(self) -> None:
        self.marks.clear()
        self.refresh()

    def set_busy(self, keys: Iterable[str], action: str | None) -> None:
        for key in keys:
            if action is None:
                self.busy.pop(key, None)
            else:
                self.busy[key] = action
            if key in self._index:
                if self.group_by == "tag":
                    self.refresh()
                else:
                    self._refresh_row(self._index[key])

    # -- cursor -------------------------------------------------------------------------
    def _move(self, row: int) -> None:
        self._user_moved = True
        if not self.rows:
            return
        step = 1 if row >= self.cursor else -1
        row = max(0, min(row, len(self.rows) - 1))
        while 0 <= row < len(self.rows) and self.rows[row].startswith("\0"):
            row += step
        if not 0 <= row < len(self.rows):
            return
        old, self.cursor = self.cursor, row
        self._refresh_row(old)
        self._refresh_row(row)
        self._scroll_cursor_into_view()
        self.post_message(self.CursorMoved(self.current_guest))

    def move_to_key(self, key: str) -> None:
        if key in self._index:
            self._move(self._index[key])

    def _scroll_cursor_into_view(self) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + body:
            self.scroll_to(y=self.cursor - body + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(len(self.rows) - 1)

    def action_page_down(self) -> None:
        self._move(self.cursor + max(1, self.scrollable_content_region.height - 2))

    def action_page_up(self) -> None:
        self._move(self.cursor - max(1, self.scrollable_content_region.height - 2))

    def on_click(self, event: events.Click) -> None:
        y = event.y - self.gutter.top if hasattr(self, "gutter") else event.y
        if y == 0:
            self._sort_by_x(event.x + int(self.scroll_x))
            return
        row = round(self.scroll_y) + y - 1
        if 0 <= row < len(self.rows):
            self._move(row)

    def _sort_by_x(self, x: int) -> None:
        left = 0
        for column in COLUMNS:
            width = self._name_width if column.key == "name" else column.width
            if left <= x < left + width + 1 and column.key in SORT_KEYS:
                if self.sort_column == column.key:
                    self.sort_reverse = not self.sort_reverse
                else:
                    self.sort_column = column.key
                return
            left += width + 1

    # -- drawing ------------------------------------------------------------------------
    def _refresh_row(self, row: int) -> None:
        y = row - round(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _refresh_host(self, host: str) -> None:
        self.refresh()  # a host's rows are scattered when sorted by name: repaint the view

    def _style(self, name: str) -> Style:
        # Resolving a component style walks the CSS: ~5 per line, 45 lines a repaint.
        # They change only with the theme and with focus (the cursor's colour).
        key = (name, self.app.theme, self.has_focus)
        style = self._styles.get(key)
        if style is None:
            style = self.get_component_rich_style(f"guest-table--{name}", partial=True)
            self._styles[key] = style
        return style

    def _base_style(self) -> Style:
        # rich_style walks every ancestor's CSS (~40 us), once per line of every repaint.
        key = ("", self.app.theme, self.has_focus)
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = self.rich_style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._base_style()
        if y == 0:
            return self._header(width, base)
        row = round(self.scroll_y) + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, base)
        key = self.rows[row]
        if key.startswith("\0#"):
            label = f" tag {inert(key[2:])}" if len(key) > 2 else " (no tag)"
            return Strip([Segment(fit(label, width), base + self._style("group"))], width)
        if key.startswith("\0"):
            host = key[1:]
            status = self.host_states.get(host)
            state = ("stale" if status.is_stale else status.state) if status else ""
            label = f" {inert(host)}" + (f"  ({state})" if status else "")
            style = base + self._style("group")
            return Strip([Segment(fit(label, width), style)], width)
        guest = self.guests[key]
        row_style = base
        stale = self._stale(guest)
        if row == self.cursor:
            row_style += self._style("cursor")
        if key in self.marks:
            row_style += self._style("marked")
        if stale:
            row_style += self._style("stale")
        segments = []
        now = self._clock()
        for column in COLUMNS:
            w = self._name_width if column.key == "name" else column.width
            text, style = self._cell(guest, column.key, now, row_style, stale)
            segments.append(Segment(fit(text, w, column.right), style))
            segments.append(Segment(" ", row_style))
        strip = Strip(segments)
        return strip.crop(int(self.scroll_x), int(self.scroll_x) + width).extend_cell_length(
            width, row_style)

    def _header(self, width: int, base: Style) -> Strip:
        style = base + self._style("header")
        parts = []
        for column in COLUMNS:
            w = self._name_width if column.key == "name" else column.width
            label = column.label
            if column.key == self.sort_column:
                label += "▼" if self.sort_reverse else "▲"
            parts.append(fit(label, w, column.right) + " ")
        strip = Strip([Segment("".join(parts), style)])
        return strip.crop(int(self.scroll_x), int(self.scroll_x) + width).extend_cell_length(
            width, style)

    def _stale(self, guest: Guest) -> bool:
        """Its host or its endpoint is not answering: what the row says is unconfirmed."""
        status = self.host_states.get(guest.host)
        return status is not None and status.stale(guest.endpoint)

    def _cell(self, guest: Guest, column: str, now: float, row_style: Style,
              stale: bool) -> tuple[str, Style]:
        if column == "mark":
            return ("●" if guest.key in self.marks else " "), row_style
        if column == "host":
            label = self.host_labels.get(guest.host)
            style = row_style + Style(color=label, bold=True) if label and not stale \
                else row_style
            return inert(guest.host), style
        if column == "state":
            if guest.key in self.busy:
                return f"⟳ {self.busy[guest.key]}", row_style + self._style("busy")
            if stale:
                return f"? {guest.state}", row_style
            cls = STATE_CLASS.get(guest.state, "shutoff")
            return str(guest.state), row_style + self._style(f"state-{cls}")
        return plain_cell(guest, column, now), row_style
