"""The host panel (`h`): a summary line and one line per host (state, latency, guests,
since when), the unreachable first, filtered by typing.

A line-API list, as the guest table: 300 hosts are 300 strings, not 300 widgets, and a
second's tick repaints nothing unless a line's text changed.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from tuivirt.inventory import Diff, HostStatus
from tuivirt.model import HostState
from tuivirt.text import inert
from tuivirt.ui.table.columns import fit
from tuivirt.ui.table.filter_input import FilterInput

STATE_STYLE = {
    HostState.CONNECTED: "success",
    HostState.DEGRADED: "warning",
    HostState.CONNECTING: "primary",
    HostState.RECONNECTING: "primary",
    HostState.LOST: "error",
    HostState.DISCONNECTED: "error",
}
UNREACHABLE = (HostState.LOST, HostState.RECONNECTING, HostState.DISCONNECTED)


def ago(seconds: float) -> str:
    # Minutes at best: a clock ticking every second would repaint the panel every second.
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "<1m ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m ago"


def silent_for(seconds: float) -> str:
    """How long a stale host has said nothing: to the second at first (that is news)."""
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"silent {seconds}s"
    return f"silent {ago(seconds).removesuffix(' ago')}"


def fmt_latency(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 10:
        return f"{ms:.1f}ms"
    if ms < 1000:
        return f"{ms:.0f}ms"
    return f"{ms / 1000:.1f}s"


def state_word(status: HostStatus | None) -> str:
    if status is None:
        return "connecting"
    return "stale" if status.is_stale else str(status.state)


def rank(status: HostStatus | None) -> int:
    """Sort order: lost, stale, degraded, up (connecting: with the lost, unconfirmed)."""
    if status is None or not status.reachable:
        return 0
    if status.is_stale:
        return 1
    return 2 if status.state == HostState.DEGRADED else 3


def summary(statuses: Iterable[HostStatus | None]) -> str:
    """N hosts: U up, D degraded, L lost, S stale (each host counted once)."""
    counts: Counter[str] = Counter()
    total = 0
    for status in statuses:
        total += 1
        if status is None or status.state == HostState.CONNECTING:
            counts["connecting"] += 1
        elif status.state in UNREACHABLE:
            counts["lost"] += 1
        elif status.is_stale:
            counts["stale"] += 1
        elif status.state == HostState.DEGRADED:
            counts["degraded"] += 1
        else:
            counts["up"] += 1
    text = (f"{total} host{'s' if total != 1 else ''}: {counts['up']} up, "
            f"{counts['degraded']} degraded, {counts['lost']} lost, {counts['stale']} stale")
    if counts["connecting"]:
        text += f", {counts['connecting']} connecting"
    return text


@dataclass(frozen=True, slots=True)
class HostInfo:
    """What the config says of a host."""

    name: str
    label: str | None = None
    read_only: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HostLine:
    """One host's line: its cells as text, and the theme colour of its state."""

    name: str
    state: str
    latency: str
    guests: str
    since: str
    note: str
    colour: str
    dim: bool  # unreachable or stale: what it says is not confirmed now
    label: str | None

    def plain(self, name_width: int) -> str:
        return (f"{fit(self.name, name_width)} {self.state:<12} {self.latency:>7} "
                f"{self.guests:>6}  {self.since:<13} {self.note}").rstrip()


def since_text(status: HostStatus | None, now: float) -> str:
    """Since when the host is in its state; for a stale host, how long it said nothing."""
    if status is None:
        return ""
    if status.is_stale:
        return silent_for(now - (status.confirmed or now))
    return ago(now - status.since)


def host_line(info: HostInfo, status: HostStatus | None, guests: int,
              now: float) -> HostLine:
    state = state_word(status)
    notes = []
    if info.read_only:
        notes.append("read-only")
    if info.tags:
        notes.append(" ".join(f"#{t}" for t in info.tags))
    since = since_text(status, now)
    if status is not None:
        if status.is_stale:
            notes.append("no answer from " + ", ".join(status.silent))
        if status.reason:
            notes.append(status.reason)  # the daemon's or SSH's own words
    colour = "warning" if state == "stale" else STATE_STYLE[
        status.state if status else HostState.CONNECTING]
    return HostLine(name=inert(info.name), state=state,
                    latency=fmt_latency(status.latency_ms) if status else "-",
                    guests=str(guests), since=since, note=inert("  ".join(notes)),
                    colour=colour, dim=rank(status) < 2, label=info.label)


def host_matcher(text: str) -> Callable[[str], bool]:
    """Words as in the table's filter: regexes (case-insensitive), `!` negates; a line
    matches when every word does. Raises re.error on a bad regex."""
    terms = []
    for word in text.split():
        negate = word.startswith("!")
        word = word[1:] if negate else word
        if word:
            terms.append((re.compile(word, re.IGNORECASE).search, negate))

    def matches(hay: str) -> bool:
        return all((search(hay) is None) is negate for search, negate in terms)

    return matches


class HostList(ScrollView, can_focus=True):
    """The host lines below a header; j/k move, / filters, esc closes the panel."""

    BINDINGS = [
        Binding("j,down", "cursor(1)", "Down", show=False),
        Binding("k,up", "cursor(-1)", "Up", show=False),
        Binding("g,home", "cursor(-100000)", "First", show=False),
        Binding("G,end", "cursor(100000)", "Last", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("slash", "find", "Filter hosts"),
        Binding("escape", "close", "Close", show=False),
    ]
    COMPONENT_CLASSES = {"host-list--header", "host-list--cursor", "host-list--dim"}
    DEFAULT_CSS = """
    HostList {
        height: auto;
        max-height: 16;
        background: $panel;
        scrollbar-gutter: stable;
        & > .host-list--header { text-style: bold; color: $primary; }
        & > .host-list--cursor { background: $primary 25%; }
        & > .host-list--dim { color: $foreground 45%; text-style: italic; }
        &:focus > .host-list--cursor { background: $primary 50%; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[HostLine] = []
        self.name_width = 12
        self.cursor = 0
        #: the theme's colours, by theme name: generating them costs ~1.4 ms, and every
        #: line drawn asked (a fleet's panel repaints ~15 lines a second)
        self._colours: tuple[str, dict[str, str]] | None = None

    def show(self, lines: list[HostLine]) -> None:
        old, old_width, old_cursor = self.lines, self.name_width, self.cursor
        current = old[old_cursor].name if old_cursor < len(old) else None
        self.lines = lines
        self.name_width = max(12, min(32, max((len(x.name) for x in lines), default=0)))
        names = [x.name for x in lines]
        self.cursor = names.index(current) if current in names else min(
            self.cursor, max(0, len(lines) - 1))
        size = Size(self.name_width + 60, len(lines) + 1)
        if size != self.virtual_size:
            self.virtual_size = size
        if (len(old) != len(lines) or self.name_width != old_width
                or self.cursor != old_cursor):
            self.refresh()
            return
        # Most ticks change a line or two (a latency, a "since"): repaint only those
        # (a whole repaint was ~15 lines a second, each a few hundred microseconds).
        top, width = round(self.scroll_y), self.size.width
        for y in range(1, self.size.height):
            row = top + y - 1
            if row < len(lines) and lines[row] != old[row]:
                self.refresh(Region(0, y, width, 1))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines) + 1

    def action_cursor(self, step: int) -> None:
        if not self.lines:
            return
        self.cursor = max(0, min(len(self.lines) - 1, self.cursor + step))
        body = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + body:
            self.scroll_to(y=self.cursor - body + 1, animate=False, immediate=True)
        self.refresh()

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 2))

    def action_find(self) -> None:
        panel = self.parent
        if isinstance(panel, HostPanel):
            panel.open_filter()

    def action_close(self) -> None:
        panel = self.parent
        if isinstance(panel, HostPanel):
            panel.close()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def _theme_colours(self) -> dict[str, str]:
        theme = self.app.theme
        if self._colours is None or self._colours[0] != theme:
            self._colours = (theme, self.app.get_css_variables())
        return self._colours[1]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            header = (f"  {fit('HOST', self.name_width)} {'STATE':<12} {'LATENCY':>7} "
                      f"{'GUESTS':>6}  {'SINCE':<13} NOTES")
            style = base + self.get_component_rich_style("host-list--header", partial=True)
            return Strip([Segment(fit(header, width), style)], width)
        row = round(self.scroll_y) + y - 1
        if row >= len(self.lines):
            return Strip.blank(width, base)
        line = self.lines[row]
        style = base
        if row == self.cursor:
            style += self.get_component_rich_style("host-list--cursor", partial=True)
        if line.dim:
            style += self.get_component_rich_style("host-list--dim", partial=True)
        colour = self._theme_colours().get(line.colour, "")
        state_style = style + Style.parse(colour) if colour else style
        label_style = style + Style.parse(line.label) if line.label else style
        text, w = line.plain(self.name_width), self.name_width
        segments = [Segment("● ", label_style), Segment(text[:w], style + Style(bold=True)),
                    Segment(text[w:w + 1], style), Segment(text[w + 1:w + 13], state_style),
                    Segment(text[w + 13:], style)]
        strip = Strip(segments)
        return strip.crop(int(self.scroll_x), int(self.scroll_x) + width).extend_cell_length(
            width, style)


class HostFilter(FilterInput):
    """The panel's filter box: esc clears it and gives the list back."""

    BINDINGS = [Binding("escape", "clear", "Clear", show=False)]

    def action_clear(self) -> None:
        panel = self.parent
        if isinstance(panel, HostPanel):
            panel.clear_filter()


class HostPanel(Vertical):
    """Every host: a summary line, a filter box (`/`), then one line per host."""

    DEFAULT_CSS = """
    HostPanel {
        height: auto;
        max-height: 50%;
        padding: 0 1;
        background: $panel;
        border-bottom: solid $primary 30%;
    }
    HostPanel #host-summary { height: 1; color: $foreground 80%; }
    HostPanel #host-summary.-invalid { color: $error; }
    HostPanel #host-filter { height: 1; border: none; padding: 0 1; background: $boost; }
    HostPanel #host-filter.-invalid { color: $error; }
    """

    def __init__(self, hosts: list[HostInfo], *, clock: Callable[[], float] = time.time,
                 guest_hosts: Callable[[], Iterable[str]] = tuple,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.hosts = {h.name: h for h in hosts}
        self.statuses: dict[str, HostStatus] = {}
        self._clock = clock
        self._guest_hosts = guest_hosts  # every guest's host, to count them
        self._counts: Counter[str] | None = None  # None: count again when drawn
        self._match: Callable[[str], bool] = host_matcher("")
        self.filter_text = ""
        self.filter_error = ""
        self._shown: tuple[str, list[HostLine]] | None = None
        #: host -> ((status, guests, since text), its line, its rank), as last made
        self._made: dict[str, tuple[tuple[HostStatus | None, int, str], HostLine, int]] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="host-summary")
        box = HostFilter(self.set_filter, placeholder="filter hosts: name, state, #tag; "
                         "regex; !negates", id="host-filter")
        box.display = False
        yield box
        yield HostList(id="host-list")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh_text)
        self.refresh_text()

    @property
    def host_list(self) -> HostList:
        return self.query_one(HostList)

    # -- data in ------------------------------------------------------------------------
    def apply(self, diff: Diff) -> None:
        for status in diff.hosts:
            self.statuses[status.name] = status
        if diff.added or diff.removed:
            self._counts = None
        if diff.hosts or diff.added or diff.removed:
            self.refresh_text()

    def update_status(self, status: HostStatus) -> None:
        self.apply(Diff(hosts=(status,)))

    # -- filter -------------------------------------------------------------------------
    def open_filter(self) -> None:
        box = self.query_one(HostFilter)
        box.display = True
        self.screen.set_focus(box)

    def set_filter(self, text: str) -> None:
        try:
            self._match = host_matcher(text)
        except re.error as exc:
            self.filter_error = f"{text!r}: {exc}"
        else:
            self.filter_error = ""
            self.filter_text = text
        self.query_one(HostFilter).set_class(bool(self.filter_error), "-invalid")
        self.refresh_text()

    def clear_filter(self) -> None:
        box = self.query_one(HostFilter)
        box.value = ""
        box.display = False
        self.screen.set_focus(self.host_list)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # the main screen's filter box has a handler of its own
        if not event.value.strip():
            self.clear_filter()
        else:
            self.screen.set_focus(self.host_list)

    def close(self) -> None:
        """esc in the list: hide the panel, the table has the keys again."""
        self.display = False
        main = self.screen
        table = getattr(main, "table", None)
        if table is not None:
            main.set_focus(table)

    # -- drawing ------------------------------------------------------------------------
    def lines(self, now: float | None = None) -> list[HostLine]:
        """The host lines shown, in order: filtered, the unreachable first."""
        now = self._clock() if now is None else now
        if self._counts is None:
            self._counts = Counter(self._guest_hosts())
        counts, statuses, made = self._counts, self.statuses, self._made
        chosen = []
        for name, info in self.hosts.items():
            status = statuses.get(name)
            guests = counts.get(name, 0)
            # The 1 s timer mostly finds each host as it was: its line is made again
            # only when its status, its guest count or its "since" text changed.
            key = (status, guests, since_text(status, now))
            known = made.get(name)
            if known is not None and known[0][0] is status and known[0][1:] == key[1:]:
                line, order = known[1], known[2]
            else:
                line, order = host_line(info, status, guests, now), rank(status)
                made[name] = (key, line, order)
            if self.filter_text and not self._match(
                    f"{line.name}\n{line.state}\n{line.note}"):
                continue
            chosen.append((order, name, line))
        chosen.sort(key=lambda item: (item[0], item[1]))
        return [line for _rank, _name, line in chosen]

    def text(self) -> str:
        """What the panel shows, as plain text (the summary, then a line per host)."""
        lines = self.lines()
        width = self.host_list.name_width
        return "\n".join([self.summary_text(len(lines)), *(x.plain(width) for x in lines)])

    def summary_text(self, shown: int) -> str:
        text = summary(self.statuses.get(name) for name in self.hosts)
        if self.filter_text:
            text += f" · {shown} shown (filter: {self.filter_text})"
        if self.filter_error:
            text += f" · filter error: {self.filter_error}"
        return text

    def refresh_text(self) -> None:
        if not self.display:
            return
        lines = self.lines()
        shown = (f"{self.app.theme}\n{self.filter_text}\n{self.filter_error}", lines)
        # The 1 s timer mostly recomputes the same lines: repaint only what changed.
        if shown == self._shown:
            return
        self._shown = shown
        self.host_list.show(lines)
        summary_line = self.query_one("#host-summary", Static)
        summary_line.set_class(bool(self.filter_error), "-invalid")
        text = self.summary_text(len(lines))
        if text != summary_line.content:  # one fixed line: no relayout of the screen for it
            summary_line.update(text, layout=False)
