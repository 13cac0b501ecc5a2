"""`tuivirt create container` while an image is pulled, against a stand-in daemon (the
lab has no registry): a progress line on a terminal, none in a pipe, and ctrl+c stops the
pull (the daemon sees the client go) and creates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_docker import FakeDocker
from tests.ptyrun import PtyRun

EVENTS = [
    {"status": "Pulling from team/app", "id": "2.1"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "1b1b1b1b1b1b"},
    {"status": "Downloading", "progressDetail": {"current": 1048576, "total": 4194304},
     "id": "1b1b1b1b1b1b"},
]
CANCELLED = ("tuivirt: cancelled: the pull of team/app:2.1 was stopped; nothing was "
             "created")


class _Terminal(PtyRun):
    def __init__(self, argv: list[str]) -> None:
        self.output = b""
        super().__init__(argv)

    def received(self, data: bytes) -> None:
        self.output += data

    def text(self) -> str:
        with self.cond:
            return self.output.decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = 20) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.text():
                return True
            time.sleep(0.05)
        return False


@pytest.fixture()
def daemon() -> Iterator[FakeDocker]:
    fake = FakeDocker(EVENTS)
    yield fake
    fake.close()


@pytest.fixture()
def config(daemon: FakeDocker, tmp_path: Path) -> Path:
    path = tmp_path / "fake.toml"
    path.write_text(f'[[host]]\nname = "fake"\ndocker = "{daemon.url}"\n')
    return path


def _argv(config: Path) -> list[str]:
    return [sys.executable, "-m", "tuivirt", "--config", str(config), "create",
            "container", "fake", "web", "--image", "team/app:2.1", "--start"]


def _wait_for_pull(daemon: FakeDocker) -> None:
    end = time.monotonic() + 20
    while not any("images/create" in r for r in daemon.requests):
        assert time.monotonic() < end, daemon.requests
        time.sleep(0.05)
    time.sleep(0.3)  # the events are read; the daemon is silent now


def test_ctrl_c_on_a_terminal_stops_the_pull_and_creates_nothing(
        daemon: FakeDocker, config: Path) -> None:
    term = _Terminal(_argv(config))
    try:
        assert term.wait_for("pulling team/app:2.1: "), term.text()
        _wait_for_pull(daemon)
        began = time.monotonic()
        os.kill(term.pid, signal.SIGINT)  # what ctrl+c sends
        assert term.proc.wait(10) == 130
        stopped = time.monotonic() - began
        assert term.wait_for(CANCELLED, 5), term.text()
    finally:
        term.proc.kill()
    assert daemon.hung_up.wait(5), "the daemon still streams the pull to nobody"
    assert not any("containers/create" in r for r in daemon.requests), daemon.requests
    assert stopped < 2.0
    print(f"ctrl+c to exit during a stalled pull: {stopped:.2f} s")


def test_piped_there_is_no_progress_line(daemon: FakeDocker, config: Path) -> None:
    proc = subprocess.Popen(_argv(config), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_pull(daemon)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert (out, err) == ("", CANCELLED + "\n")
    assert daemon.hung_up.wait(5)
