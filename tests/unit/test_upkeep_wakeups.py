"""An idle host's upkeep thread sleeps until its next work is due (a probe every
STATS_EVERY seconds, a retry), instead of waking on a fixed tick: 100 idle hosts woke
400 times a second. A retry that comes due still runs promptly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tuivirt.config import Config, demo_host
from tuivirt.session import Fleet, HostSession


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


def wait_for(what: Callable[[], object], limit: float) -> float | None:
    """Seconds until what() held, or None if it did not within `limit`."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if what():
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def connected(session: HostSession) -> bool:
    """Whether the live session connected within 10 s (waiting until it has)."""
    return wait_for(lambda: session.state.value == "connected", 10) is not None


def test_an_idle_session_wakes_for_its_probes_not_four_times_a_second(
        state_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tuivirt.session.connection as connection

    clock = CountingClock()
    monkeypatch.setattr(connection, "time", clock)
    fleet = Fleet(Config(hosts=(demo_host(),)), live=True)
    session = fleet.session("demo")
    fleet.start()
    try:
        assert connected(session)
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
        connected(session)
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


def test_a_probe_that_hangs_downs_its_endpoint_at_the_deadline_and_the_rest_go_on(
        state_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upkeep probes from its own thread (no call thread). When a probe hangs, its
    endpoint is down at the deadline, a new upkeep thread keeps the host's other endpoint
    confirmed, and the endpoint is back once the daemon answers; the thread left in the
    hung call then ends."""
    import tuivirt.session.connection as connection
    from tuivirt.backends.libvirt.connection import LibvirtConnection, using
    from tuivirt.config import HostConfig, demo_node_path

    monkeypatch.setattr(connection, "STATS_EVERY", 0.5)
    fine, hangs = "test:///default", f"test://{demo_node_path()}"
    hang, release = threading.Event(), threading.Event()
    original = LibvirtConnection.probe.__wrapped__.__wrapped__  # type: ignore[attr-defined]

    def probe(self: LibvirtConnection) -> None:
        if self.endpoint == hangs and hang.is_set():
            release.wait(30)  # a daemon stopped with SIGSTOP: no answer, no error
        original(self)

    monkeypatch.setattr(LibvirtConnection, "probe", using(probe))
    host = HostConfig(name="two", libvirt=(fine, hangs))
    fleet = Fleet(Config(hosts=(host,), timeout=1.0), live=True)
    session = fleet.session("two")

    def upkeep_threads() -> int:
        return sum(t.name == "upkeep-two" for t in threading.enumerate())

    fleet.start()
    try:
        assert connected(session)
        hang.set()
        hung_at = time.monotonic()
        down = wait_for(lambda: session.endpoint_status.get(hangs, "ok") != "ok", 5)
        # Found by the next probe (within 0.5 s of the beat), down at its 1 s deadline
        # (and not when the daemon answers, 30 s later). Margin for a loaded machine.
        assert down is not None and down < 0.5 + 1.0 + 2.5, down
        assert "no answer to probe after 1 s" in session.endpoint_status[hangs]
        assert session.endpoint_status[fine] == "ok"
        # The other endpoint is still probed, by the new thread, while the first one
        # waits for the hung daemon: it stays confirmed.
        assert upkeep_threads() == 2
        since = time.time()
        assert wait_for(lambda: session._heard[fine] > since, 3) is not None
        assert time.monotonic() - hung_at < 10
        release.set()
        hang.clear()
        back = wait_for(lambda: session.endpoint_status.get(hangs) == "ok", 5)
        assert back is not None, session.endpoint_status
        assert wait_for(lambda: upkeep_threads() == 1, 3) is not None
    finally:
        release.set()
        fleet.close()


def test_a_late_probe_of_an_earlier_connection_leaves_the_new_upkeep_alone(
        state_home: Path) -> None:
    """A probe of connection N outlives its deadline just as the host reconnects (N+1,
    with its own upkeep): that late call must not replace the new upkeep thread (the
    host would be left with none) nor down an endpoint of the new connection."""
    from tuivirt.errors import EndpointHung

    fleet = Fleet(Config(hosts=(demo_host(),)), live=True)
    session = fleet.session("demo")
    fleet.start()
    try:
        assert connected(session)
        old_generation, old_token = session._generation, session._upkeep_token
        endpoint = session.libvirt[0]
        with session._lock:  # what a reconnect does, then its new upkeep
            session._generation += 1
            assert session._start_upkeep(session._generation)
        new_token = session._upkeep_token
        posted: list[object] = []
        put = session._events.put
        session._events.put = lambda news, *a, **k: (posted.append(news),  # type: ignore
                                                     put(news, *a, **k))[1]
        session._probe_late(old_generation, old_token, endpoint,
                            EndpointHung("demo", "no answer to probe after 1 s"))
        assert session._upkeep_token is new_token and not posted
        # The current upkeep's own late probe does replace it, and downs the endpoint.
        session._probe_late(session._generation, new_token, endpoint,
                            EndpointHung("demo", "no answer to probe after 1 s"))
        assert session._upkeep_token is not new_token
        assert [type(news).__name__ for news in posted] == ["EndpointLost"]
    finally:
        fleet.close()
