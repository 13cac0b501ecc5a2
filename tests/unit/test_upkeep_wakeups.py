"""An idle host's upkeep thread sleeps until its next work is due (a probe every
STATS_EVERY seconds, a retry), instead of waking on a fixed tick: 100 idle hosts woke
400 times a second. A retry that comes due still runs promptly."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tuivirt.config import Config, demo_host
from tuivirt.session import Fleet


class CountingClock:
    """Stands in for the `time` module of session/connection.py: counts the upkeep's
    clock reads, one or two per round of its loop."""

    def __init__(self) -> None:
        self.reads = 0

    def monotonic(self) -> float:
        self.reads += 1
        return time.monotonic()

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


def test_an_idle_session_wakes_for_its_probes_not_four_times_a_second(
        state_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tuivirt.session.connection as connection

    clock = CountingClock()
    monkeypatch.setattr(connection, "time", clock)
    fleet = Fleet(Config(hosts=(demo_host(),)), live=True)
    session = fleet.session("demo")
    fleet.start()
    try:
        deadline = time.monotonic() + 10
        while session.state.value != "connected" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session.state.value == "connected"
        time.sleep(0.5)
        before = clock.reads
        time.sleep(3.0)  # less than a probe period: nothing is due
        assert clock.reads - before <= 4, clock.reads - before  # was 12 rounds
    finally:
        fleet.close()


def test_a_retry_scheduled_while_asleep_runs_when_due(state_home: Path) -> None:
    fleet = Fleet(Config(hosts=(demo_host(),)), live=True)
    session = fleet.session("demo")
    fleet.start()
    try:
        deadline = time.monotonic() + 10
        while session.state.value != "connected" and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the upkeep thread is asleep now, its next probe 5 s away
        spec = session.host.libvirt[0]
        reopened = threading.Event()
        original = session._reopen

        def reopen(spec_: str, generation: int) -> None:
            reopened.set()
            original(spec_, generation)

        session._reopen = reopen  # type: ignore[method-assign]
        with session._lock:
            session._retry[spec] = (time.monotonic() + 0.3, 0.3)
            session._wake.set()
        began = time.monotonic()
        assert reopened.wait(3), "the retry never ran"
        assert time.monotonic() - began < 1.0
    finally:
        fleet.close()
