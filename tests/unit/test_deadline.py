"""Deadlines on daemon calls: the caller waits at most the timeout; what was sent is kept."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from tuivirt.backends import deadline as deadline_module
from tuivirt.backends.deadline import Deadline, Pending
from tuivirt.errors import AnsweredLate, EndpointHung, HostError


def test_a_call_that_answers_in_time_returns_its_result_or_raises_its_error() -> None:
    deadline = Deadline("h", "qemu:///system", timeout=1.0)
    assert deadline.run("add", lambda a, b: a + b, 2, 3) == 5

    def fails() -> None:
        raise HostError("h", "refused")

    with pytest.raises(HostError, match="refused"):
        deadline.run("fails", fails)
    assert not deadline.hung


def test_a_hung_call_is_given_up_on_and_its_outcome_still_arrives() -> None:
    recovered = threading.Event()
    deadline = Deadline("h", "unix:///var/run/docker.sock", timeout=0.2,
                        on_recovered=recovered.set)
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(EndpointHung) as caught:
        deadline.run("start", lambda: release.wait(10) and "started")
    assert 0.2 <= time.monotonic() - started < 1.0
    assert "no answer to start after 0.2 s" in caught.value.message
    pending = caught.value.pending
    assert isinstance(pending, Pending) and not pending.wait(0)
    assert deadline.hung
    # While the first call is stuck, more calls fail at once instead of piling up.
    started = time.monotonic()
    with pytest.raises(EndpointHung) as again:
        deadline.run("list", lambda: "never called")
    assert time.monotonic() - started < 0.1
    assert again.value.pending is None and "not answering" in again.value.message
    release.set()
    assert pending.wait(2) and pending.result == "started" and pending.error is None
    assert recovered.wait(2)
    assert not deadline.hung
    assert deadline.run("list", lambda: "answered") == "answered"


def test_nested_calls_run_on_the_same_thread() -> None:
    deadline = Deadline("h", "qemu:///system", timeout=1.0)
    outer_thread: list[threading.Thread] = []

    def inner() -> threading.Thread:
        return threading.current_thread()

    def outer() -> threading.Thread:
        outer_thread.append(threading.current_thread())
        return deadline.run("inner", inner)

    assert deadline.run("outer", outer) is outer_thread[0]
    assert outer_thread[0] is not threading.current_thread()


def test_many_racing_calls_leave_no_stuck_count_behind() -> None:
    """A call that returns exactly as its caller gives up must not count as stuck for ever."""
    deadline = Deadline("h", "qemu:///system", timeout=0.01)
    for _ in range(200):
        try:
            deadline.run("race", time.sleep, 0.01)
        except EndpointHung as exc:
            assert exc.pending is None or isinstance(exc.pending, Pending)
            if isinstance(exc.pending, Pending):
                exc.pending.wait(1)
    end = time.monotonic() + 2
    while deadline.hung and time.monotonic() < end:
        time.sleep(0.01)
    assert not deadline.hung


def test_calls_reuse_idle_threads_and_idle_threads_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A fleet samples every host's daemon every few seconds: a thread per call was ~1 %
    of a core. A finished call's thread takes the next call; one that is busy (a hung
    call) is never handed another; an idle one ends after IDLE_FOR."""
    monkeypatch.setattr(deadline_module, "IDLE_FOR", 0.5)
    first = Deadline("h", "qemu:///system", 1.0)
    other = Deadline("h2", "qemu:///system", 0.2)
    threads: set[int] = set()
    seen: list[threading.Thread] = []

    def where() -> int:
        seen.append(threading.current_thread())
        return threading.get_ident()

    for _ in range(50):
        threads.add(first.run("probe", where))
    assert len(threads) == 1
    release = threading.Event()
    with pytest.raises(EndpointHung):
        other.run("list", release.wait, 5)  # stuck on a call thread
    busy = {first.run("probe", where) for _ in range(5)}
    assert len(busy) == 1  # the free thread, not the stuck one
    release.set()
    time.sleep(1.2)  # past IDLE_FOR: the idle threads end
    assert not [t for t in seen if t.is_alive()]


class CountingCondition(threading.Condition):
    """The watch's condition, counting how often a call had to wake the watch thread."""

    def __init__(self) -> None:
        super().__init__(threading.Lock())
        self.notified = 0

    def notify(self, n: int = 1) -> None:
        self.notified += 1
        super().notify(n)


@pytest.fixture()
def watch(monkeypatch: pytest.MonkeyPatch) -> CountingCondition:
    """A watch of the test's own (the process's one may have seen other timeouts)."""
    fresh = deadline_module._Watch()
    fresh._cond = counting = CountingCondition()
    monkeypatch.setattr(deadline_module, "_watch", fresh)
    return counting


def test_calls_in_place_run_on_the_callers_thread_and_never_wake_the_watch(
        watch: CountingCondition) -> None:
    """A host's upkeep probes from its own thread: no hand-over to a call thread and
    back (two wake-ups a probe), and no wake-up of the watch either."""
    deadline = Deadline("h", "qemu:///system", timeout=2.0)
    told: list[EndpointHung] = []
    with deadline_module.in_place(told.append):
        threads = {deadline.run("probe", threading.get_ident) for _ in range(50)}
        with pytest.raises(HostError, match="refused"):
            deadline.run("fails", lambda: (_ for _ in ()).throw(HostError("h", "refused")))
    assert threads == {threading.get_ident()}
    assert watch.notified == 0 and not told and not deadline.hung
    # Outside the block, calls go to a call thread again.
    assert deadline.run("probe", threading.get_ident) != threading.get_ident()


def test_a_call_in_place_that_hangs_is_told_at_its_deadline_and_dropped_when_it_returns(
        watch: CountingCondition) -> None:
    recovered = threading.Event()
    deadline = Deadline("h", "qemu:///system", timeout=0.3, on_recovered=recovered.set)
    told: list[tuple[float, EndpointHung]] = []
    release = threading.Event()
    outcome: list[BaseException | str] = []

    def upkeep() -> None:
        with deadline_module.in_place(lambda exc: told.append((time.monotonic(), exc))):
            try:
                outcome.append(deadline.run("cpu_times", lambda: release.wait(10) and "late"))
            except EndpointHung as exc:
                outcome.append(exc)

    started = time.monotonic()
    caller = threading.Thread(target=upkeep)
    caller.start()
    end = time.monotonic() + 3
    while not told and time.monotonic() < end:
        time.sleep(0.01)
    assert told, "the watch never said the call was late"
    when, late = told[0]
    assert 0.3 <= when - started < 1.5  # at the deadline (a loaded machine: later)
    assert "no answer to cpu_times after 0.3 s" in late.message
    assert caller.is_alive() and not outcome  # still waiting for the daemon
    # Meanwhile the endpoint counts as hung: other callers fail at once.
    with pytest.raises(EndpointHung, match="not answering"):
        deadline.run("list", lambda: "never called")
    release.set()
    caller.join(2)
    assert len(outcome) == 1 and isinstance(outcome[0], AnsweredLate)  # its answer dropped
    assert "answered after its deadline" in outcome[0].message
    assert recovered.wait(2) and not deadline.hung
    assert len(told) == 1


def test_a_late_call_answering_while_its_caller_is_told_recovers_only_after(
        watch: CountingCondition) -> None:
    """The daemon answers just as the watch tells the caller "hung": the caller must
    hear "hung" before "recovered" (a recovery first finds nothing down to retry)."""
    heard: list[str] = []
    recovered = threading.Event()

    def on_recovered() -> None:
        heard.append("recovered")
        recovered.set()

    deadline = Deadline("h", "qemu:///system", timeout=0.2, on_recovered=on_recovered)
    release = threading.Event()

    def on_late(_exc: EndpointHung) -> None:
        release.set()  # the answer comes now, while the caller is being told
        time.sleep(0.2)
        heard.append("hung")

    def upkeep() -> None:
        with deadline_module.in_place(on_late), contextlib.suppress(AnsweredLate):
            deadline.run("probe", release.wait, 10)

    caller = threading.Thread(target=upkeep)
    caller.start()
    assert recovered.wait(3)
    caller.join(2)
    assert heard == ["hung", "recovered"]
