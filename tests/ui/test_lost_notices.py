"""'host X lost' is said once when a host is lost, not on every later update that still
carries it; a fleet that loses many hosts at once gets one notice naming them."""

from __future__ import annotations

from tests.ui.pilot import NOW, Notes, feed, fixed_app
from tuivirt.inventory import Diff, HostStatus
from tuivirt.model import HostState
from tuivirt.ui.messages import InventoryChanged


def lost(name: str) -> HostStatus:
    return HostStatus(name, HostState.LOST, "keepalive timed out", since=NOW)


async def post(pilot: object, *hosts: HostStatus) -> None:
    app = pilot.app  # type: ignore[attr-defined]
    app.post_message(InventoryChanged(Diff(hosts=hosts)))
    for _ in range(5):
        await pilot.pause()  # type: ignore[attr-defined]


async def test_a_lost_host_is_said_once_until_it_comes_back() -> None:
    app = fixed_app()
    async with app.run_test(size=(120, 30)) as pilot:
        notes = Notes(app)
        await feed(pilot)
        await post(pilot, lost("rack2"))
        await post(pilot, lost("rack2"))  # its latency or staleness moved: no news
        await post(pilot, lost("rack2"))
        said = [m for m, _ in notes.items if "lost" in m]
        assert said == ["host rack2 lost: keepalive timed out"], notes.items
        await post(pilot, HostStatus("rack2", HostState.CONNECTED, "", since=NOW))
        await post(pilot, lost("rack2"))  # lost again: said again
        assert len([m for m, _ in notes.items if "lost" in m]) == 2, notes.items


async def test_many_hosts_lost_at_once_are_one_notice() -> None:
    app = fixed_app()
    async with app.run_test(size=(120, 30)) as pilot:
        notes = Notes(app)
        await feed(pilot)
        await post(pilot, *[lost(f"kvm-{i:03d}") for i in range(40)])
        said = [m for m, _ in notes.items if "lost" in m]
        assert len(said) == 1, said
        assert said[0].startswith("40 hosts lost: kvm-000, kvm-001"), said
        assert "and 35 more" in said[0] and "keepalive timed out" in said[0]
