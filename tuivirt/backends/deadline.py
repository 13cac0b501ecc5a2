"""Deadlines on daemon calls: a hung daemon never holds a caller longer than the timeout.

A daemon stopped with SIGSTOP (or stuck on storage) keeps its socket open and answers
nothing: libvirt's and Docker's clients then wait for ever (libvirt's keepalive is off on
connections carried by our SSH tunnel, and off while a connection opens). So every call
of an endpoint runs on a thread of its own and the caller waits at most the deadline.
A call that outlives it is left to finish (it cannot be cancelled: the request may
already be with the daemon and may still take effect); until it returns the endpoint
counts as hung and further calls fail at once instead of piling up threads.

The threads are kept for a while once their call returns and take the next call: a
fleet view samples a hundred hosts' daemons every few seconds, and a new thread per call
(start, first switch, exit) was ~1 % of a core by itself.

A thread that can be left behind when a call hangs (a host's upkeep thread: a new one
takes its place) makes its calls `in_place`: on its own thread, under one watch thread
for the whole process, which tells the caller's `on_late` when a call outlives its
deadline. No hand-over to a call thread and back: at 100 hosts that was ~55 wake-ups a
second, and on this kind of machine a wake-up costs more than the probe's own work.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from tuivirt.errors import AnsweredLate, EndpointHung

P = ParamSpec("P")
R = TypeVar("R")

_inside = threading.local()  # set on a deadline thread: nested calls run in place

#: A call thread with nothing to do ends after this long.
IDLE_FOR = 30.0
#: Told that a call made in place outlived its deadline (on the watch thread: be quick).
OnLate = Callable[[EndpointHung], None]
#: The most a late call, returning, waits for its caller to have been told it was late.
LATE_TOLD_WAIT = 5.0


class _Worker:
    """A call thread: runs one job, then waits (IDLE_FOR at most) to be handed another."""

    def __init__(self, job: Callable[[], None]) -> None:
        self.job: Callable[[], None] | None = job
        self.wake = threading.Event()


_idle: list[_Worker] = []  # workers waiting for a job, the last to finish at the end
_idle_lock = threading.Lock()


def _start_call(job: Callable[[], None], name: str) -> None:
    """Run job on an idle call thread, or on a new one."""
    with _idle_lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        threading.Thread(target=_work, args=(_Worker(job),), daemon=True, name=name).start()
        return
    worker.job = job
    worker.wake.set()


def _work(worker: _Worker) -> None:
    _inside.active = True
    me = threading.current_thread()
    while True:
        job, worker.job = worker.job, None
        if job is not None:
            job()
        me.name = "call-idle"
        worker.wake.clear()
        with _idle_lock:
            _idle.append(worker)
        if worker.wake.wait(IDLE_FOR):
            continue
        with _idle_lock:
            if worker in _idle:  # nobody took it meanwhile: end
                _idle.remove(worker)
                return
        worker.wake.wait()  # taken just now: its job is on the way


class _InPlace:
    """A call running on its caller's thread, under the watch."""

    __slots__ = ("deadline", "due", "late", "on_late", "what")

    def __init__(self, deadline: Deadline, what: str, on_late: OnLate) -> None:
        self.deadline = deadline
        self.what = what
        self.due = time.monotonic() + deadline.timeout
        self.on_late = on_late
        #: set by the watch when the deadline passed; the event is set once on_late
        #: has been told (its news goes before the recovery's)
        self.late: threading.Event | None = None


class _Watch:
    """One thread that tells the callers of calls made in place when one outlives its
    deadline. It sleeps until the earliest deadline of the calls in flight, or, with none,
    for the shortest timeout it has seen: a call then never has to wake it (its deadline
    is after the watch's next look), so a probe costs no thread switch at all."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._calls: set[_InPlace] = set()
        self._thread: threading.Thread | None = None
        self._looks_at = 0.0  # monotonic time of the watch's next look
        self._idle_for = 60.0

    def add(self, call: _InPlace) -> None:
        with self._cond:
            if self._thread is None:
                thread = threading.Thread(target=self._run, daemon=True,
                                          name="deadline-watch")
                thread.start()  # it waits for the lock: it looks at this call first
                self._thread = thread
            elif call.due < self._looks_at:
                self._cond.notify()
            self._calls.add(call)
            # Not below a second: a tiny timeout (a test's) must not make it spin.
            self._idle_for = max(1.0, min(self._idle_for, call.deadline.timeout))

    def done(self, call: _InPlace) -> threading.Event | None:
        """The call returned: None if in time; if late, what is set once its caller has
        been told (the deadline counts it stuck until it returns)."""
        with self._cond:
            self._calls.discard(call)
            return call.late

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                late = [call for call in self._calls if call.due <= now]
                for call in late:
                    self._calls.discard(call)
                    call.late = threading.Event()
                    with call.deadline._lock:  # before its caller can return: counted once
                        call.deadline._count_stuck()
                if not late:
                    self._looks_at = min((call.due for call in self._calls),
                                         default=now + self._idle_for)
                    self._cond.wait(max(0.0, self._looks_at - now))
                    continue
            for call in late:
                deadline = call.deadline
                with contextlib.suppress(Exception):  # a caller's bug must not end the watch
                    call.on_late(EndpointHung(
                        deadline.host, f"{deadline.endpoint}: no answer to {call.what} after "
                        f"{deadline.timeout:g} s: the daemon may be hung"))
                assert call.late is not None
                call.late.set()


_watch = _Watch()


@contextlib.contextmanager
def in_place(on_late: OnLate) -> Iterator[None]:
    """Bounded calls made inside run on this thread, watched. One that outlives its
    deadline is reported to `on_late` while it still runs (the endpoint then counts as
    hung, as for any call); when it returns at last, it raises AnsweredLate and its
    outcome is dropped. Only for a thread that may be left behind in such a call."""
    before = getattr(_inside, "on_late", None)
    _inside.on_late = on_late
    try:
        yield
    finally:
        _inside.on_late = before


class Pending:
    """The outcome of a call that outlived its deadline, for whoever wants to wait on."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def wait(self, timeout: float | None = None) -> bool:
        """True once the call has returned (then see result/error)."""
        return self._done.wait(timeout)

    def _settle(self, result: Any, error: BaseException | None) -> None:
        self.result, self.error = result, error
        self._done.set()


class Deadline:
    """The deadline of one endpoint (a libvirt URI or a Docker URL) of a host.

    It outlives the connections made to that endpoint, so an attempt to reconnect to a
    daemon that is still stuck on an earlier call fails at once too. `on_recovered` is
    called (on the returning call's thread) when the last stuck call comes back.
    """

    def __init__(self, host: str, endpoint: str, timeout: float,
                 on_recovered: Callable[[], None] | None = None) -> None:
        self.host = host
        self.endpoint = endpoint
        self.timeout = timeout
        self.on_recovered = on_recovered
        self._lock = threading.Lock()
        self._stuck = 0
        self.stuck_since: float | None = None  # monotonic time of the first stuck call

    @property
    def hung(self) -> bool:
        return self._stuck > 0

    def hung_for(self) -> float:
        since = self.stuck_since
        return 0.0 if since is None else time.monotonic() - since

    def run(self, what: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """fn(*args, **kwargs), waiting at most the deadline; EndpointHung beyond it."""
        if getattr(_inside, "active", False):
            return fn(*args, **kwargs)  # already on a deadline thread
        with self._lock:
            if self._stuck:
                raise EndpointHung(self.host, f"{self.endpoint}: not answering for "
                                   f"{self.hung_for():.0f} s (an earlier call is still "
                                   "waiting): the daemon may be hung")
        on_late: OnLate | None = getattr(_inside, "on_late", None)
        if on_late is not None:
            return self._run_in_place(what, on_late, fn, *args, **kwargs)
        pending = Pending()
        late = threading.Event()  # set when the caller gave up waiting

        name = f"call-{self.host}-{what}"

        def target() -> None:
            threading.current_thread().name = name
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the caller, raised there
                error = exc
            with self._lock:  # against the caller deciding, at this moment, to give up
                pending._settle(result, error)
                gave_up = late.is_set()
            if gave_up:
                self._returned()

        limit = self.timeout
        _start_call(target, name)
        if not pending.wait(limit):
            with self._lock:
                if not pending.wait(0):  # it may have returned just now
                    late.set()
                    self._count_stuck()
            if late.is_set():
                raise EndpointHung(
                    self.host, f"{self.endpoint}: no answer to {what} after {limit:g} s: "
                    "the daemon may be hung", pending)
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[no-any-return]

    def _run_in_place(self, what: str, on_late: OnLate, fn: Callable[..., R],
                      *args: Any, **kwargs: Any) -> R:
        call = _InPlace(self, what, on_late)
        error: BaseException | None = None
        result: Any = None
        _watch.add(call)
        try:
            _inside.active = True  # calls nested in fn run in place, unwatched
            result = fn(*args, **kwargs)
        except BaseException as exc:
            error = exc
        finally:
            _inside.active = False  # only a call thread is active for good
        late = _watch.done(call)
        if late is not None:
            # Its caller hears "hung" before "recovered": a recovery said first would
            # find nothing down, and the retry would wait for its backoff.
            late.wait(LATE_TOLD_WAIT)
            self._returned()
            raise AnsweredLate(self.host, f"{self.endpoint}: {what} answered after its "
                               f"deadline ({self.timeout:g} s)")
        if error is not None:
            raise error
        return result  # type: ignore[no-any-return]

    def _count_stuck(self) -> None:
        """One more call outlived the deadline (with self._lock held)."""
        self._stuck += 1
        if self.stuck_since is None:
            self.stuck_since = time.monotonic()

    def _returned(self) -> None:
        with self._lock:
            self._stuck -= 1
            recovered = self._stuck == 0
            if recovered:
                self.stuck_since = None
        if recovered and self.on_recovered is not None:
            self.on_recovered()


def bounded(method: Callable[P, R]) -> Callable[P, R]:
    """A method of an endpoint run under the endpoint's `deadline` (None: unbounded)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        deadline: Deadline | None = getattr(args[0], "deadline", None)
        if deadline is None:
            return method(*args, **kwargs)
        return deadline.run(method.__name__, method, *args, **kwargs)

    return wrapper
