"""Deadlines on daemon calls: the caller waits at most the timeout; what was sent is kept."""

from __future__ import annotations

import threading
import time

import pytest

from tuivirt.backends import deadline as deadline_module
from tuivirt.backends.deadline import Deadline, Pending
from tuivirt.errors import EndpointHung, HostError


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
