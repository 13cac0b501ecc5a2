"""A big fleet probes each host less often, within one fleet-wide budget of probes a
second (idle CPU stayed ~7 % of a core at 100 SSH hosts, most of it probes); a host's
staleness bound follows the period it is actually probed at, so a slower probe never
shows a live host stale, and a silent one still turns stale."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from pathlib import Path

import pytest

from tuivirt.config import Config, HostConfig, demo_host
from tuivirt.model import HostState
from tuivirt.session import Fleet
from tuivirt.session.core import PROBE_BUDGET, STALE_AFTER, STATS_EVERY, budget_period

QEMU = "qemu:///system"


def fleet_of(hosts: int) -> Fleet:
    return Fleet(Config(hosts=tuple(HostConfig(name=f"h{i:03d}", libvirt=(QEMU,))
                                    for i in range(hosts))), live=True)


@pytest.mark.parametrize("hosts", [1, 10, 40, 100, 300, 1000])
def test_probes_a_second_stay_within_the_budget(hosts: int) -> None:
    period = max(STATS_EVERY, budget_period(hosts))
    assert hosts / period <= PROBE_BUDGET + 1e-9
    if hosts <= PROBE_BUDGET * STATS_EVERY:
        assert period == STATS_EVERY  # a small fleet keeps the usual period


def test_a_big_fleets_hosts_are_stale_after_three_of_their_periods_not_before() -> None:
    small, big = fleet_of(10), fleet_of(100)
    assert small.session("h000").stale_after == STALE_AFTER
    session = big.session("h042")
    period = max(STATS_EVERY, session.probe_every)
    assert period > STATS_EVERY and session.stale_after == 3 * period
    session.endpoint_status = {QEMU: "ok"}
    session._set_state(HostState.CONNECTED)
    session._answered(QEMU)
    heard = session._heard[QEMU]
    # Silent a little longer than the small fleet's bound: one probe round late at most.
    assert session.health(heard + STALE_AFTER + 1) is None  # nothing to publish: not stale
    # Silent for more than three of its periods: stale, as a small fleet's host is.
    change = session.health(heard + 3 * period + 1)
    assert change is not None and change[3] == (QEMU,)


def test_the_upkeep_probes_at_the_period_its_fleet_gives_it(
        state_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tuivirt.session.connection.STATS_EVERY", 0.2)
    monkeypatch.setattr("tuivirt.session.connection.PROBE_BEAT", 0.2)
    monkeypatch.setattr("tuivirt.session.core.PROBE_BEAT", 0.2)
    counts = {}
    for every in (0.0, 30.0):  # a small fleet's host; one of a fleet of 240
        fleet = Fleet(Config(hosts=(demo_host(),)), live=True)
        session = fleet.session("demo")
        session.probe_every = every
        rounds: list[float] = []

        def counted(endpoint: object, sample: object = session._sample_cpu,
                    rounds: list[float] = rounds) -> bool:
            rounds.append(time.monotonic())
            return sample(endpoint)  # type: ignore[operator,no-any-return]

        session._sample_cpu = counted  # type: ignore[assignment,method-assign]
        connected = threading.Event()
        fleet.inventory.subscribe(lambda _d, s=session, c=connected: s.reachable and c.set())
        fleet.start()
        try:
            assert connected.wait(10)
            time.sleep(2.0)
        finally:
            fleet.close()
        counts[every] = len(rounds)
    assert counts[0.0] >= 5, counts  # every 0.2 s
    assert counts[30.0] <= 1, counts  # its first round (a random phase), then none


def test_hosts_in_the_same_slot_probe_together_on_the_beat(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Probes spread at random each paid for their own wake-ups; on the beat, the hosts
    of a slot share them (and a host keeps its slot from one period to the next)."""
    beat = 0.2
    monkeypatch.setattr("tuivirt.session.connection.STATS_EVERY", 3 * beat)
    monkeypatch.setattr("tuivirt.session.connection.PROBE_BEAT", beat)
    monkeypatch.setattr("tuivirt.session.core.PROBE_BEAT", beat)
    monkeypatch.setattr("tuivirt.session.connection.random.randrange", lambda _n: 1)
    hosts = (demo_host(), dataclasses.replace(demo_host(), name="demo2"))
    fleet = Fleet(Config(hosts=hosts), live=True)
    rounds: dict[str, list[float]] = {}
    for session in fleet.sessions.values():
        mine: list[float] = rounds.setdefault(session.name, [])

        def counted(endpoint: object, sample: object = session._sample_cpu,
                    mine: list[float] = mine) -> bool:
            mine.append(time.monotonic())
            return sample(endpoint)  # type: ignore[operator,no-any-return]

        session._sample_cpu = counted  # type: ignore[assignment,method-assign]
    fleet.start()
    try:
        time.sleep(3.0)
    finally:
        fleet.close()
    first, second = rounds["demo"], rounds["demo2"]
    assert len(first) >= 3 and len(second) >= 3, rounds
    for at in first + second:  # on a beat (a wake-up is a few ms late at most)
        assert (at % beat) < 0.05 or (at % beat) > beat - 0.01, (at, rounds)
    for mine, theirs in zip(first, second, strict=False):  # together
        assert abs(mine - theirs) < 0.05, rounds
    for earlier, later in itertools.pairwise(first):  # one period apart
        assert abs((later - earlier) - 3 * beat) < 0.05, first


def test_past_the_budget_the_ssh_keepalive_waits_out_the_probes() -> None:
    # 100 hosts' keepalives every 5 s were a third of the SSH thread's idle CPU; the
    # probes' answers keep a link busy instead, and find a cut one (period + timeout).
    small, big = fleet_of(40), fleet_of(100)
    assert small.session("h000").keepalive_every == 5.0
    session = big.session("h000")
    assert session.keepalive_every >= 1.5 * max(STATS_EVERY, session.probe_every)
