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
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from tuivirt.errors import EndpointHung

P = ParamSpec("P")
R = TypeVar("R")

_inside = threading.local()  # set on a deadline thread: nested calls run in place

#: A call thread with nothing to do ends after this long.
IDLE_FOR = 30.0


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
                    self._stuck += 1
                    if self.stuck_since is None:
                        self.stuck_since = time.monotonic()
            if late.is_set():
                raise EndpointHung(
                    self.host, f"{self.endpoint}: no answer to {what} after {limit:g} s: "
                    "the daemon may be hung", pending)
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[no-any-return]

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
