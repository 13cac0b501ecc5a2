"""A host's latency and staleness: measured by the session, published by the fleet's
watchdog in one diff, kept across state changes."""

from __future__ import annotations

import time

from tuivirt.config import Config, HostConfig
from tuivirt.inventory import Diff, Inventory
from tuivirt.model import HostState
from tuivirt.session import Fleet
from tuivirt.session.core import STALE_AFTER
from tuivirt.session.host import HostSession

QEMU, DOCKER = "qemu:///system", "unix:///var/run/docker.sock"


def up_session(inventory: Inventory, name: str = "a") -> HostSession:
    """A session as a connect leaves it: both endpoints answering (no daemon needed)."""
    session = HostSession(HostConfig(name=name, libvirt=(QEMU,), docker=DOCKER), inventory)
    session.endpoint_status = {QEMU: "ok", DOCKER: "ok"}
    session._set_state(HostState.CONNECTED)
    return session


def test_an_endpoint_silent_longer_than_the_bound_is_stale_then_fresh_again() -> None:
    inventory = Inventory()
    session = up_session(inventory)
    session._answered(QEMU, 0.004)
    session._answered(DOCKER, 0.012)
    now = time.time()
    name, latency, confirmed, silent = session.health(now) or ("", None, None, ())
    assert (name, latency, silent) == ("a", 12.0, ())  # the slowest endpoint's round trip
    assert confirmed is not None and confirmed <= now
    assert session.health(now) is None  # nothing new: nothing to publish
    # Later: Docker kept answering; libvirtd said nothing for longer than the bound.
    heard = session._heard[QEMU]
    later = heard + STALE_AFTER + 1
    session._heard[DOCKER] = later - 1
    change = session.health(later)
    assert change is not None and change[3] == (QEMU,)
    assert change[2] == heard  # since when nothing confirmed it
    assert session.health(later + 1) is None  # said once
    session._answered(QEMU, 0.004)
    change = session.health(time.time())
    assert change is not None and change[3] == ()


def test_latency_is_published_when_it_moves_out_of_its_band_not_on_every_probe() -> None:
    session = up_session(Inventory())
    session.endpoint_status = {QEMU: "ok"}
    session._answered(QEMU, 0.010)
    now = time.time()
    assert session.health(now) is not None  # the first figure: at once
    session._answered(QEMU, 0.011)  # jitter
    assert session.health(now + 11) is None
    session._answered(QEMU, 0.200)  # the link got slow
    assert session.health(now + 1) is None  # not more than every 10 s per host
    change = session.health(now + 12)
    assert change is not None and change[1] == 200.0


def test_the_fleet_publishes_every_hosts_health_in_one_diff_and_states_keep_it() -> None:
    config = Config(hosts=tuple(HostConfig(name=f"h{i}", libvirt=(QEMU,)) for i in range(50)))
    fleet = Fleet(config)
    seen: list[Diff] = []
    fleet.inventory.subscribe(seen.append)
    for session in fleet.sessions.values():
        session.endpoint_status = {QEMU: "ok"}
        session._set_state(HostState.CONNECTED)
        session._answered(QEMU, 0.002)
    seen.clear()
    fleet.check_health()
    assert len(seen) == 1 and len(seen[0].hosts) == 50
    assert all(s.latency_ms == 2.0 for s in seen[0].hosts)
    # A state change keeps the latency measured so far.
    fleet.sessions["h1"]._set_state(HostState.DEGRADED, "docker down")
    status = next(s for s in fleet.inventory.host_statuses() if s.name == "h1")
    assert status.state == HostState.DEGRADED and status.latency_ms == 2.0


def test_a_lost_host_is_not_stale_and_not_announced_lost_twice() -> None:
    inventory = Inventory()
    session = up_session(inventory)
    session._heard = {QEMU: time.time() - 100, DOCKER: time.time() - 100}
    change = session.health()
    assert change is not None
    inventory.set_health([change])
    seen: list[Diff] = []
    inventory.subscribe(seen.append)
    session._set_state(HostState.LOST, "ssh connection lost")
    assert [s.is_stale for d in seen for s in d.hosts] == [False]
    change = session.health()  # the watchdog clears its silent endpoints
    inventory.set_health([change] if change else [])
    assert [s.state for d in seen for s in d.hosts] == [HostState.LOST]

