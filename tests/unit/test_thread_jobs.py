"""ThreadJobs: the one way thread work reports back to the UI (ui/common/workers.py)."""

from __future__ import annotations

from typing import Any

from textual.worker import Worker, WorkerState

from tuivirt.errors import TuivirtError
from tuivirt.ui.common.workers import ThreadJobs


class FakeWorker:
    """A worker that has already finished (a quick job on a loaded machine)."""

    def __init__(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result = result
        self.error = error
        self.is_finished = True


class Node(ThreadJobs):
    def __init__(self, worker: FakeWorker) -> None:
        self.worker = worker
        self.notes: list[str] = []

    def run_worker(self, job: Any, **kwargs: Any) -> FakeWorker:
        return self.worker

    def notify(self, text: str, **kwargs: Any) -> None:
        self.notes.append(text)

    def deliver(self, *states: WorkerState) -> None:
        for state in states:
            self._on_worker_state_changed(Worker.StateChanged(self.worker, state))  # type: ignore[arg-type]


def test_a_job_finished_before_its_running_message_still_reports() -> None:
    # Seen under load: the RUNNING message was handled after the job had ended; the
    # outcome was taken then, as RUNNING, and the SUCCESS that followed found nothing.
    got: list[int] = []
    node = Node(FakeWorker(result=42))
    node.in_thread(lambda: 42, got.append, what="x")
    node.deliver(WorkerState.PENDING, WorkerState.RUNNING, WorkerState.SUCCESS)
    assert got == [42]


def test_a_failed_job_is_told_once_with_its_message() -> None:
    node = Node(FakeWorker(error=TuivirtError("guest web is gone")))
    node.in_thread(lambda: None, lambda _: None, what="demo/web")
    node.deliver(WorkerState.RUNNING, WorkerState.ERROR, WorkerState.ERROR)
    assert node.notes == ["demo/web: guest web is gone"]


def test_a_library_surprise_names_its_kind_and_a_job_may_take_its_own_error() -> None:
    node = Node(FakeWorker(error=KeyError("x")))
    node.in_thread(lambda: None, what="demo/web")
    node.deliver(WorkerState.ERROR)
    assert node.notes == ["demo/web: KeyError: 'x'"]
    own: list[BaseException] = []
    node = Node(FakeWorker(error=ValueError("bad")))
    node.in_thread(lambda: None, what="demo/web", failed=own.append)
    node.deliver(WorkerState.ERROR)
    assert node.notes == [] and [str(e) for e in own] == ["bad"]
