"""A disconnected console waits for its guest's news, not on a timer: while it waits no
daemon is asked anything; the event that its guest runs again reconnects it at once, and
the event that it is gone says so. Hermetic: `tuivirt console`'s app on the demo host
(libvirt's test driver, whose lifecycle events are real), with a fake console transport
(the test driver has no consoles)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.pilot import DEMO_SIZE, demo_app, demo_config, demo_conn, demo_ready, to_row, until
from tuivirt.backends.console.buffer import ConsoleBuffer
from tuivirt.backends.console.transport import Transport
from tuivirt.backends.libvirt.loop import ensure_event_loop
from tuivirt.errors import HostError
from tuivirt.model import Guest, GuestState
from tuivirt.session import Fleet, HostSession
from tuivirt.ui.console.app import ConsoleApp

WAIT = 4.0  # s of waiting: the old pane asked its daemon every second


class FakeTransport(Transport):
    label = "fake"

    def __init__(self, buffer: ConsoleBuffer) -> None:
        self.buffer = buffer

    def send(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture()
def demo_fleet() -> Iterator[Fleet]:
    ensure_event_loop()  # as `tuivirt console` does (the test driver's events need it)
    fleet = Fleet(demo_config())  # as `tuivirt console` makes it: connected, not live
    assert not fleet.connect()
    yield fleet
    fleet.close()


def spy(session: HostSession, monkeypatch: pytest.MonkeyPatch,
        calls: Counter[str]) -> list[FakeTransport]:
    """Count what the pane asks of the session's daemons: lookups and console opens (an
    open succeeds only when the domain really runs, as libvirt's does)."""
    lookup = session.lookup
    conn = session.libvirt_for_type("test").conn
    assert conn is not None
    opened: list[FakeTransport] = []

    def counted_lookup(guest: Guest) -> Guest | None:
        calls["lookup"] += 1
        return lookup(guest)

    def open_console(guest: Guest, buffer: ConsoleBuffer, **_: Any) -> Transport:
        calls["open"] += 1
        if not conn.lookupByUUIDString(guest.id).isActive():
            raise HostError(session.name, "Requested operation is not valid: domain is "
                            "not running")
        opened.append(FakeTransport(buffer))
        return opened[-1]

    monkeypatch.setattr(session, "lookup", counted_lookup)
    monkeypatch.setattr(session, "open_console", open_console)
    return opened


async def test_a_waiting_console_asks_no_daemon_and_reconnects_on_its_guests_event(
        demo_fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    session = demo_fleet.session("demo")
    guest = next(g for g in demo_fleet.inventory.guests() if g.state == GuestState.SHUTOFF)
    calls: Counter[str] = Counter()
    opened = spy(session, monkeypatch, calls)
    app = ConsoleApp(demo_fleet.config, demo_fleet, guest, f"demo/{guest.name}")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.pane
        assert await until(pilot, lambda: "reconnecting when it runs" in pane.detail, 10), \
            pane.detail
        assert pane.state == "disconnected" and "shutoff" in pane.detail
        await pilot.pause(WAIT)
        assert calls == {"open": 1}, f"asked while waiting: {dict(calls)}"

        # Another client starts it: libvirt's event, through the session, reconnects.
        domain = session.libvirt_for_type("test").conn.lookupByUUIDString(guest.id)
        domain.create()
        assert await until(pilot, lambda: pane.state == "connected", 10), pane.detail
        assert calls == {"open": 2} and pane.transport is opened[-1]

        # It is destroyed (its console ends), then undefined: the pane says it is gone.
        domain.destroy()
        opened[-1].end("console closed")
        assert await until(pilot, lambda: "reconnecting when it runs" in pane.detail, 10), \
            pane.detail
        # At most one look at the guest when its console ended, if its event was late.
        await pilot.pause(WAIT / 2)
        seen = dict(calls)
        assert seen["open"] == 2 and seen.get("lookup", 0) <= 1, seen
        domain.undefine()
        assert await until(pilot, lambda: "no longer exists" in pane.detail, 10), \
            pane.detail
        await pilot.pause(WAIT / 2)
        assert calls == seen, f"asked while waiting: {dict(calls)}"
        assert pane.state == "disconnected"


async def test_the_full_apps_console_reconnects_on_the_same_news(
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = demo_app()  # live sessions: the news reaches the pane through fleet_changed
    calls: Counter[str] = Counter()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        await demo_ready(pilot)
        session = app.fleet.session("demo")
        spy(session, monkeypatch, calls)
        guest = next(g for g in app.main.table.guests.values()
                     if g.state == GuestState.SHUTOFF)
        await to_row(pilot, guest.name)
        await pilot.press("c")
        assert await until(pilot, lambda: any(
            "reconnecting when it runs" in p.detail for p in app.main.consoles()), 10)
        pane = app.main.consoles()[0]
        await pilot.pause(WAIT)
        assert calls == {"open": 1}, f"asked while waiting: {dict(calls)}"
        demo_conn(app).lookupByUUIDString(guest.id).create()
        assert await until(pilot, lambda: pane.state == "connected", 10), pane.detail
        assert calls == {"open": 2}
