"""Thread workers that never hold the app's exit.

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
from typing import Any, TypeVar

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
