"""Live host sessions against the lab: events feed the inventory; a lost host comes back."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Lab
from tuivirt.config import parse_config
from tuivirt.inventory import Diff, Inventory
from tuivirt.model import GuestState, HostState
from tuivirt.session import Fleet

pytestmark = pytest.mark.lab


class Recorder:
    def __init__(self, inventory: Inventory) -> None:
        self.diffs: list[tuple[float, Diff]] = []
        self.cond = threading.Condition()
        inventory.subscribe(self.record)

    def record(self, diff: Diff) -> None:
        with self.cond:
            self.diffs.append((time.monotonic(), diff))
            self.cond.notify_all()

    def mark(self) -> int:
        with self.cond:
            return len(self.diffs)

    def wait(self, predicate: Callable[[Diff], bool], timeout: float = 20.0,
             since: int = 0) -> float | None:
        """Monotonic time of the first diff (from index `since`) matching predicate."""
        start = since
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for stamp, diff in self.diffs[start:]:
                    if predicate(diff):
                        return stamp
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


@pytest.fixture()
def live_fleet(lab: Lab, state_home: Path) -> Iterator[tuple[Fleet, Recorder]]:
    config = parse_config(lab.config_text(), "lab.toml")
    fleet = Fleet(config, live=True)
    recorder = Recorder(fleet.inventory)
    fleet.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
            s.state == HostState.CONNECTED for s in fleet.sessions.values()):
        time.sleep(0.1)
    assert all(s.state == HostState.CONNECTED for s in fleet.sessions.values()), {
        n: (s.state, s.reason) for n, s in fleet.sessions.items()}
    yield fleet, recorder
    fleet.close()


def changed(host: str, name: str, state: GuestState) -> Callable[[Diff], bool]:
    return lambda d: any(g.host == host and g.name == name and g.state == state
                         for g in (*d.changed, *d.added))


@pytest.mark.parametrize("host", ["local", "hostb"])
def test_virsh_changes_arrive_as_events(lab: Lab, live_fleet: tuple[Fleet, Recorder],
                                        scratch_vm: Callable[[str], str], host: str) -> None:
    fleet, recorder = live_fleet
    mark = recorder.mark()
    name = scratch_vm(host)
    assert recorder.wait(lambda d: any(g.name == name for g in d.added), since=mark), \
        "define not seen"
    mark = recorder.mark()
    start = time.monotonic()
    lab.virsh(host, "start", name)
    seen = recorder.wait(changed(host, name, GuestState.RUNNING), since=mark)
    assert seen is not None, "start not seen"
    for command, state in (("suspend", GuestState.PAUSED), ("destroy", GuestState.SHUTOFF)):
        mark = recorder.mark()
        lab.virsh(host, command, name)
        assert recorder.wait(changed(host, name, state), since=mark) is not None, command
    mark = recorder.mark()
    lab.virsh(host, "undefine", name)
    assert recorder.wait(lambda d: any(k.endswith(f":{name}") for k in d.removed), since=mark)
    assert all(g.name != name for g in fleet.inventory.guests())
    assert seen - start < 10


@pytest.mark.parametrize(("host", "container"), [("local", "tinybox"), ("hostb", "boxb")])
def test_docker_changes_arrive_as_events(lab: Lab, live_fleet: tuple[Fleet, Recorder],
                                         host: str, container: str) -> None:
    _fleet, recorder = live_fleet
    lab.docker(host, "start", container)
    mark = recorder.mark()
    lab.docker(host, "pause", container)
    assert recorder.wait(changed(host, container, GuestState.PAUSED), since=mark) is not None
    mark = recorder.mark()
    lab.docker(host, "unpause", container)
    assert recorder.wait(changed(host, container, GuestState.RUNNING), since=mark) is not None


def test_lost_host_is_reported_and_comes_back(lab: Lab,
                                              live_fleet: tuple[Fleet, Recorder]) -> None:
    fleet, recorder = live_fleet
    hostb = fleet.sessions["hostb"]
    mark = recorder.mark()
    # Cut the wire to hostb: keepalives go unanswered, the session must notice by itself.
    subprocess.run(["ip", "link", "set", "tvlab0", "down"], check=True)
    try:
        lost = recorder.wait(lambda d: any(h.name == "hostb" and h.state == HostState.LOST
                                           for h in d.hosts), timeout=60, since=mark)
        assert lost is not None, (hostb.state, hostb.reason)
        assert hostb.reason
        # The other host is unaffected.
        assert fleet.sessions["local"].state == HostState.CONNECTED
        # Rows of the lost host stay (stale) for the UI to grey out.
        assert any(g.host == "hostb" for g in fleet.inventory.guests())
    finally:
        mark = recorder.mark()
        subprocess.run(["ip", "link", "set", "tvlab0", "up"], check=True)
    back = recorder.wait(lambda d: any(h.name == "hostb" and h.state == HostState.CONNECTED
                                       for h in d.hosts), timeout=90, since=mark)
    assert back is not None, (hostb.state, hostb.reason)
    assert any(g.host == "hostb" and g.name == "tinyb" for g in fleet.inventory.guests())
