"""The guest table's columns: what each shows, how it sorts, how a value is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from tuivirt.model import Guest, GuestState, format_vcpus
from tuivirt.text import inert


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    right: bool = False


COLUMNS = (
    Column("mark", "", 1),
    Column("host", "HOST", 10),
    Column("kind", "KIND", 6),
    Column("name", "NAME", 24),
    Column("state", "STATE", 12),
    Column("cpu", "CPU%", 5, right=True),
    Column("vcpus", "VCPU", 5, right=True),
    Column("memory", "MEMORY", 8, right=True),
    Column("uptime", "UPTIME", 8, right=True),
    Column("autostart", "AUTO", 4),
)
SORT_KEYS: dict[str, Callable[[Guest], object]] = {
    "host": lambda g: (g.host, g.name),
    "kind": lambda g: (g.kind, g.host, g.name),
    "name": lambda g: (g.name, g.host),
    "state": lambda g: (str(g.state), g.host, g.name),
    "cpu": lambda g: (-(g.cpu_percent or 0), g.host, g.name),
    "vcpus": lambda g: (g.vcpus or 0, g.host, g.name),
    "memory": lambda g: (shown_memory(g) or 0, g.host, g.name),
    "uptime": lambda g: (-(g.started_at or 0), g.host, g.name),
    "autostart": lambda g: (not g.autostart, g.host, g.name),
}
STATE_CLASS = {
    GuestState.RUNNING: "running",
    GuestState.PAUSED: "paused",
    GuestState.SUSPENDED: "paused",
    GuestState.SHUTOFF: "shutoff",
    GuestState.CRASHED: "crashed",
    GuestState.STARTING: "transition",
    GuestState.STOPPING: "transition",
    GuestState.UNKNOWN: "shutoff",
}


def fmt_memory(mib: int | None) -> str:
    if mib is None:
        return "-"
    return f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib} MiB"


def shown_memory(guest: Guest) -> int | None:
    """A VM's memory is its size; a running container's, what it uses (sampled), as
    `docker stats` shows it: a container without a limit has no size to show."""
    if guest.memory_used_mib is not None and guest.state == GuestState.RUNNING:
        return guest.memory_used_mib
    return guest.memory_mib


def fmt_uptime(started_at: float | None, now: float) -> str:
    if not started_at:
        return "-"
    # Coarse on purpose: the table repaints for uptimes only every 15 s.
    seconds = max(0, int(now - started_at))
    if seconds < 60:
        return "<1m"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def fit(text: str, width: int, right: bool = False) -> str:
    if not text.isascii():  # a CJK name takes two cells a character, a combining mark none
        cells = cell_len(text)
        if cells > width:
            return set_cell_size(text, width - 1) + "…" if width > 1 \
                else set_cell_size(text, width)
        padding = " " * (width - cells)
        return padding + text if right else text + padding
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 1 else text[:width]
    return text.rjust(width) if right else text.ljust(width)


def plain_cell(guest: Guest, column: str, now: float) -> str:
    """A cell whose style is the row's: its text, made inert where it comes from a daemon
    (a TAB or an ESC in a name would move the real cursor, a right-to-left override flip
    the state column drawn after it)."""
    if column == "kind":
        return inert(guest.kind)
    if column == "name":
        return inert(guest.name)
    if column == "cpu":
        running = guest.state == GuestState.RUNNING and guest.cpu_percent is not None
        return f"{guest.cpu_percent:.0f}" if running else "-"
    if column == "vcpus":
        return format_vcpus(guest.vcpus)
    if column == "memory":
        return fmt_memory(shown_memory(guest))
    if column == "uptime":
        running = guest.state in (GuestState.RUNNING, GuestState.PAUSED)
        return fmt_uptime(guest.started_at, now) if running else "-"
    if column == "autostart":
        return "-" if guest.autostart is None else "yes" if guest.autostart else "no"
    return ""
