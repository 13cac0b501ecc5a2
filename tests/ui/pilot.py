"""Helpers shared by the UI tests, in one place (no test module imports another).

Fixed data for snapshots, waiting and notifications, the lab's app, the demo host
(libvirt's in-process test driver: runs anywhere), a user's real terminal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from collections.abc import Callable
from typing import Any

from textual.widgets import Input

from tests.conftest import Lab
from tests.ptyrun import PtyRun
from tuivirt.config import Config, HostConfig, demo_host, parse_config
from tuivirt.inventory import Diff, HostStatus
from tuivirt.model import DefinitionRef, Guest, GuestState, HostState
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.dialogs import DiffScreen, FormScreen
from tuivirt.ui.console.pane import ConsolePane
from tuivirt.ui.editor.xml_editor import EditorPane
from tuivirt.ui.messages import InventoryChanged

NOW = 1_790_000_000.0




def fixed_config(theme: str = "tuivirt-dark") -> Config:
    return Config(hosts=(
        HostConfig(name="local", libvirt=("qemu:///system", "lxc:///system"),
                   docker="unix:///var/run/docker.sock"),
        HostConfig(name="prod", libvirt=("qemu+ssh://root@prod/system",), read_only=True,
                   label="red"),
        HostConfig(name="rack2", libvirt=("qemu:///system",), label="#5fafff"),
    ), theme=theme)


def fixed_guests() -> list[Guest]:
    rows = [
        ("local", "kvm", "web-frontend", GuestState.RUNNING, 2, 2048, True, None),
        ("local", "kvm", "db-primary", GuestState.RUNNING, 4, 8192, True, None),
        ("local", "qemu", "build-runner", GuestState.SHUTOFF, 2, 4096, False, None),
        ("local", "lxc", "dns", GuestState.RUNNING, 1, 256, True, None),
        ("local", "docker", "nginx", GuestState.RUNNING, None, None, True, "nginx:1.27"),
        ("local", "docker", "redis", GuestState.PAUSED, 0.5, 512, False, "redis:7"),
        ("local", "docker", "migrate-once", GuestState.SHUTOFF, None, None, False, "app:2"),
        ("prod", "kvm", "payments", GuestState.RUNNING, 8, 16384, True, None),
        ("prod", "kvm", "ledger", GuestState.CRASHED, 4, 8192, True, None),
        ("rack2", "kvm", "win2022-ad", GuestState.SHUTOFF, 2, 4096, False, None),
        ("rack2", "kvm", "k8s-node-1", GuestState.RUNNING, 4, 8192, True, None),
        ("rack2", "kvm", "k8s-node-2", GuestState.STOPPING, 4, 8192, True, None),
    ]
    guests = []
    for i, (host, kind, name, state, vcpus, mem, auto, image) in enumerate(rows):
        guests.append(Guest(
            host=host, kind=kind, name=name, id=f"00000000-0000-4000-8000-{i:012d}",
            state=state, vcpus=vcpus, memory_mib=mem, autostart=auto, image=image,
            endpoint="unix:///var/run/docker.sock" if kind == "docker" else "qemu:///system",
            started_at=NOW - 3600 * (i + 1) if kind == "docker" else None,
            cpu_percent=float(i * 7 % 100) if kind != "docker" else None))
    return guests


def fixed_hosts(lost: bool = False) -> tuple[HostStatus, ...]:
    return (
        HostStatus("local", HostState.CONNECTED, "", since=NOW - 300),
        HostStatus("prod", HostState.CONNECTED, "", since=NOW - 7200),
        HostStatus("rack2", HostState.LOST if lost else HostState.CONNECTED,
                   "keepalive timed out (host not answering)" if lost else "",
                   since=NOW - 42),
    )


def fixed_app(theme: str = "tuivirt-dark", lost: bool = False) -> TuivirtApp:
    config = fixed_config(theme)
    app = TuivirtApp(config, start_sessions=False, clock=lambda: NOW)
    app._fixed_diff = Diff(added=tuple(fixed_guests()), hosts=fixed_hosts(lost))  # type: ignore[attr-defined]
    return app


async def feed(pilot: Any) -> None:
    """run_before for snapshots: post the fixed data, let it render."""
    app = pilot.app
    app.post_message(InventoryChanged(app._fixed_diff))
    for _ in range(50):
        await pilot.pause()
        if app.main.table.guests:
            break
    # A snapshot of an empty table would pass for ever once accepted: refuse it.
    assert app.main.table.guests, "the fixed rows never reached the table"
    await pilot.pause()


DOMAIN_XML = """<domain type='kvm'>
  <name>web-frontend</name>
  <uuid>00000000-0000-4000-8000-000000000000</uuid>
  <memory unit='KiB'>2097152</memory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/web-frontend.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
    </interface>
  </devices>
</domain>
"""

REF = DefinitionRef("local", "domain", "web-frontend", "qemu:///system",
                    "00000000-0000-4000-8000-000000000000")


class Notes:
    """Every notification the app shows, for assertions."""

    def __init__(self, app: TuivirtApp) -> None:
        self.items: list[tuple[str, str]] = []
        original = app.notify

        def notify(message: str, *args: Any, **kwargs: Any) -> None:
            self.items.append((message, str(kwargs.get("severity", "information"))))
            original(message, *args, **kwargs)

        app.notify = notify  # type: ignore[method-assign]

    def find(self, fragment: str, severity: str | None = None) -> bool:
        return any(fragment in m and (severity is None or s == severity)
                   for m, s in self.items)


async def until(pilot: Any, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        await pilot.pause(0.05)
    return predicate()


async def wait_state(pilot: Any, lab: Lab, host: str, name: str, state: str,
                     timeout: float = 30.0) -> bool:
    def check() -> bool:
        return lab.domstate(host, name) == state

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if await asyncio.to_thread(check):
            return True
        await pilot.pause(0.1)
    return False


def make_app(lab: Lab, **kwargs: Any) -> TuivirtApp:
    return TuivirtApp(parse_config(lab.config_text(**kwargs), "lab.toml"))


async def ready(pilot: Any, name: str | None = None) -> None:
    app = pilot.app
    assert await until(pilot, lambda: {g.host for g in app.main.table.guests.values()}
                       >= {"local", "hostb"}), "rows of both hosts never arrived"
    if name is not None:
        assert await until(pilot, lambda: any(g.name == name
                                               for g in app.main.table.guests.values()))
        key = next(k for k, g in app.main.table.guests.items() if g.name == name)
        app.main.table.move_to_key(key)
        await pilot.pause()
        assert app.main.table.current_guest.name == name



# -- the demo host: libvirt's in-process test driver (tuivirt/demo/node.xml) -------------
# Runs anywhere: no daemon, no root. Every connection to it holds its own state, read
# afresh from the node file (which the driver never writes): start, shutdown, destroy,
# suspend, define, undefine, networks all work; consoles and Docker do not exist.
DEMO_SIZE = (140, 40)  # a fixed terminal: what fits on screen does not depend on the machine
DEMO_GUESTS = 10  # per demo host, in node.xml: 6 running, 1 paused, 3 shut off
SPARE = "spare"  # the second demo host, for marks across hosts, clones, read-only


def demo_config(*, spare: bool = False, spare_read_only: bool = False) -> Config:
    """The demo host, and with `spare` a second one (same node file, its own state)."""
    hosts = [demo_host()]
    if spare or spare_read_only:
        hosts.append(dataclasses.replace(demo_host(), name=SPARE, read_only=spare_read_only))
    return Config(hosts=tuple(hosts))


def demo_app(**kwargs: Any) -> TuivirtApp:
    return TuivirtApp(demo_config(**kwargs))


def demo_conn(app: TuivirtApp, host: str = "demo") -> Any:
    """The virConnect the app's session holds: the demo host as `virsh` would see it.

    (A new connection would not do: each holds its own copy of the test driver's state.)
    """
    conn = app.fleet.session(host).libvirt_for_type("test").conn
    assert conn is not None, f"{host} is not connected"
    return conn


def demo_state(app: TuivirtApp, name: str, host: str = "demo") -> int:
    """The daemon's state of a domain: libvirt.VIR_DOMAIN_RUNNING, _PAUSED, _SHUTOFF..."""
    state: int = demo_conn(app, host).lookupByName(name).state()[0]
    return state


async def demo_ready(pilot: Any, name: str | None = None, host: str = "demo") -> None:
    """Every demo host's rows are in the table; with `name`, the cursor on that row."""
    app: TuivirtApp = pilot.app
    expected = DEMO_GUESTS * len(app.config.hosts)
    assert await until(pilot, lambda: len(app.main.table.guests) >= expected, 10), \
        f"{len(app.main.table.guests)} of {expected} demo rows arrived"
    if name is not None:
        await to_row(pilot, name, host)


async def to_row(pilot: Any, name: str, host: str = "demo") -> Guest:
    """Put the cursor on host/name (it must be visible) and return that row's guest."""
    app: TuivirtApp = pilot.app
    table = app.main.table
    assert await until(pilot, lambda: any(g.name == name and g.host == host
                                          for g in table.guests.values()), 10)
    key = next(k for k, g in table.guests.items() if g.name == name and g.host == host)
    table.move_to_key(key)
    await pilot.pause()
    guest = table.current_guest
    assert guest is not None and (guest.host, guest.name) == (host, name)
    return guest


def shown_names(app: TuivirtApp) -> list[str]:
    """The names of the visible rows, top to bottom (group headings left out)."""
    table = app.main.table
    return [table.guests[k].name for k in table.rows if k in table.guests]


def row_state(app: TuivirtApp, name: str, host: str = "demo") -> GuestState | None:
    """What the table shows for host/name (None: no such row)."""
    for guest in app.main.table.guests.values():
        if guest.name == name and guest.host == host:
            return guest.state
    return None


# -- the XML editor, as a user drives it ------------------------------------------------
async def open_editor(pilot: Any, name: str, host: str | None = None) -> EditorPane:
    """x on host/name (the lab: any host; the demo: `host` or "demo"), once it is loaded."""
    app: TuivirtApp = pilot.app
    if host is None and "demo" not in {h.name for h in app.config.hosts}:
        await ready(pilot, name)
    else:
        await demo_ready(pilot, name, host or "demo")
    await pilot.press("x")
    assert await until(pilot, lambda: app.main.editor is not None
                       and app.main.editor.is_mounted
                       and f"<name>{name}</name>" in app.main.editor.text)
    pane = app.main.editor
    assert pane is not None
    await pilot.pause()
    return pane


async def replace_first(pilot: Any, old: str, new: str) -> None:
    """As a user does it: ctrl+f, the text, enter (selects it), esc, type the new text.

    Like a user, it looks before typing: keys that move the focus are not ordered with
    the keys behind them (README, editor's known limits), and on a loaded machine the
    search text once went into the buffer instead of the find box."""
    app = pilot.app
    await pilot.press("ctrl+f")
    assert await until(pilot, lambda: isinstance(app.focused, Input))
    await pilot.press(*old, "enter", "escape")
    assert await until(pilot, lambda: not isinstance(app.focused, Input))
    await pilot.press(*new)
    await pilot.pause()


async def form(pilot: Any) -> FormScreen:
    """The FormScreen on top, once its fields exist."""
    app: TuivirtApp = pilot.app
    assert await until(pilot, lambda: isinstance(app.screen, FormScreen)
                       and bool(app.screen.query(Input)))
    screen = app.screen
    assert isinstance(screen, FormScreen)
    return screen


async def fill_form(pilot: Any, order: list[str], typed: dict[str, str],
                    choose: dict[str, int] | None = None) -> None:
    """From a form's first field, tab through the fields in `order` (ids without the
    `f-`), typing into the ones in `typed` (what is there is erased first) and moving a
    Select `choose[key]` options down (up when negative); then enter in the last Input
    reached submits."""
    from textual.widgets import Select

    app: TuivirtApp = pilot.app
    picks = choose or {}
    last = max(order.index(key) for key in [*typed, *picks])
    last_input = ""
    for key in order[:last + 1]:
        assert await until(pilot, lambda key=key: app.focused is not None  # type: ignore[misc]
                           and app.focused.id == f"f-{key}"), (key, app.focused)
        widget = app.focused
        if isinstance(widget, Input):
            last_input = key
            if key in typed:
                await pilot.press("end", *["backspace"] * len(widget.value), *typed[key])
        elif isinstance(widget, Select) and picks.get(key):
            await pilot.press("enter")  # opens its list
            assert await until(pilot, lambda widget=widget: widget.expanded)  # type: ignore[misc]
            moves = ["down"] * picks[key] if picks[key] > 0 else ["up"] * -picks[key]
            await pilot.press(*moves, "enter")
            assert await until(pilot, lambda widget=widget: not widget.expanded)  # type: ignore[misc]
        if key != order[last]:
            await pilot.press("tab")
    for _ in range(last - order.index(last_input)):
        await pilot.press("shift+tab")  # back to an Input: enter there submits
    assert await until(pilot, lambda: app.focused is not None
                       and app.focused.id == f"f-{last_input}")
    await pilot.press("enter")


async def apply_through_diff(pilot: Any) -> DiffScreen:
    app: TuivirtApp = pilot.app
    await pilot.press("ctrl+s")
    assert await until(pilot, lambda: isinstance(app.screen, DiffScreen), timeout=10)
    screen = app.screen
    assert isinstance(screen, DiffScreen)
    return screen

# What the pilot cannot show: keys read by the driver's input thread and echoes written
# straight to the terminal.
class UserTerminal(PtyRun):
    """tuivirt on a pseudo-terminal; what it draws, as the user's terminal shows it."""

    def __init__(self, argv: list[str], cols: int = 120, rows: int = 40) -> None:
        import pyte

        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        super().__init__([sys.executable, "-m", "tuivirt", *argv], cols=cols, rows=rows)

    def received(self, data: bytes) -> None:
        self.stream.feed(data)

    def lines(self) -> list[str]:
        with self.cond:
            return [line.rstrip() for line in self.screen.display]

    def wait(self, predicate: Callable[[list[str]], bool], timeout: float = 60) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate(self.lines()):
                return True
            time.sleep(0.05)
        return predicate(self.lines())

    def type(self, data: bytes) -> None:
        self.send(data)

    def shows_line(self, text: str, timeout: float = 30) -> bool:
        """A line that is `text` alone (a command's output, not the command) shows."""
        return self.wait(lambda lines: text in [line.strip() for line in lines], timeout)


def shows(text: str) -> Callable[[list[str]], bool]:
    return lambda lines: any(text in line for line in lines)


async def open_first_console(pilot: Any, name: str) -> ConsolePane:
    """`c` on a guest with no console open yet; its pane once connected."""
    app: TuivirtApp = pilot.app
    await ready(pilot, name)
    await pilot.press("c")
    assert await until(pilot, lambda: any(p.state == "connected"
                                          for p in app.main.consoles()), timeout=30)
    return app.main.consoles()[0]
