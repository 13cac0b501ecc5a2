"""Thread work: the one way its outcome reaches the UI, on threads that never hold the
app's exit.

Textual runs `@work(thread=True)` / `run_worker(thread=True)` jobs in the event loop's
default executor, a ThreadPoolExecutor, and the end of `asyncio.run` joins its threads
(as does the interpreter's exit): one job waiting on a hung daemon (a console opening on
a host whose libvirtd stopped answering) held `q` for as long as the daemon hung. Here
each job gets a daemon thread of its own that nobody joins; a job's outcome still
reaches the app the usual way, while the app runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual.worker import Worker, WorkerState

from tuivirt.errors import TuivirtError, message_of

if TYPE_CHECKING:
    from textual.widget import Widget

T = TypeVar("T")


class DaemonThreads(ThreadPoolExecutor):
    """An executor (asyncio wants a ThreadPoolExecutor) starting a daemon thread a job.

    A thread costs ~0.1 ms to start: nothing next to what a job does (a call to a daemon).
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="tuivirt-worker")
        self._count = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        self._count += 1
        threading.Thread(target=run, name=f"tuivirt-worker-{self._count}",
                         daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Never waits: a job stuck on a hung host is left behind (a daemon thread)."""


def use_daemon_threads() -> None:
    """For the running loop (call it from the app's on_load, before any worker starts)."""
    asyncio.get_running_loop().set_default_executor(DaemonThreads())


FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


class ThreadJobs:
    """The one way thread work reports back to the UI (the console's fast path aside).

    Mixed into a screen or widget: `in_thread(job, then, what=...)` runs `job` on a
    thread worker (a daemon thread, see above); what it returns reaches `then` on the UI
    thread, carried by Textual's own `Worker.StateChanged` message to this node; what it
    raises is told once, here, as a notification naming `what`. A job never touches a
    widget and never calls back into the UI itself. When the node is gone before the job
    ends (its screen closed), the outcome is dropped with it.
    """

    _jobs: dict[Worker[Any], tuple[Callable[[Any], None] | None, str,
                                    Callable[[BaseException], None] | None]]

    def in_thread(self, job: Callable[[], T], then: Callable[[T], None] | None = None, *,
                  what: str, group: str = "default", exclusive: bool = False,
                  failed: Callable[[BaseException], None] | None = None) -> Worker[T]:
        """`failed`, when given, takes this job's error instead of `job_failed`."""
        node = cast("Widget", self)
        worker: Worker[T] = node.run_worker(job, thread=True, group=group,
                                            exclusive=exclusive, exit_on_error=False,
                                            description=what)
        if not hasattr(self, "_jobs"):
            self._jobs = {}
        self._jobs[worker] = (then, what, failed)
        return worker

    def _on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Decide on the state this message carries, not on the worker's state now: a
        # quick job is finished before its RUNNING message is handled.
        jobs = getattr(self, "_jobs", {})
        if event.worker not in jobs or event.state not in FINISHED:
            return
        then, what, failed = jobs.pop(event.worker)
        error = event.worker.error
        if event.state == WorkerState.SUCCESS:
            if then is not None:
                then(event.worker.result)
        elif event.state == WorkerState.ERROR and error is not None:
            if failed is not None:
                failed(error)
            else:
                self.job_failed(what, error)

    def job_failed(self, what: str, error: BaseException) -> None:
        """The one error handler: a notification (a screen may say more, in its place)."""
        cast("Widget", self).notify(f"{what}: {error_text(error)}", severity="error",
                                    timeout=10)


def error_text(error: BaseException) -> str:
    """A failure in words: ours carry their message; a library's surprise names its kind."""
    text = message_of(error)
    return text if isinstance(error, TuivirtError) else f"{type(error).__name__}: {text}"
