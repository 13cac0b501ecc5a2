"""Daemon faults on both lab hosts: killed, hung (SIGSTOP) and restarted under a session.

What must hold: an endpoint that fails is marked down (its rows stale) while the host's
other endpoints go on, it is retried with backoff until its daemon is back, and no call
waits on a hung daemon longer than the host's timeout. Figures are printed (-s shows
them) for the README's reliability section.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Lab, run_cli
from tests.faults import Faults
from tuivirt.backends.deadline import Pending
from tuivirt.config import parse_config
from tuivirt.errors import ActionTimedOut
from tuivirt.inventory import HostStatus
from tuivirt.model import DOCKER, GuestState, HostState
from tuivirt.session import Fleet

pytestmark = pytest.mark.lab

TIMEOUT = 3.0  # the hosts' timeout in these tests: every bound below derives from it
DOCKER_URL = {"local": "unix:///var/run/docker.sock", "hostb": "unix:///run/docker.sock"}
CONTAINER = {"local": "tinybox", "hostb": "boxb"}
DOMAIN = {"local": "tiny", "hostb": "tinyb"}


def config_text(lab: Lab) -> str:
    return f"timeout = {TIMEOUT}\n" + lab.config_text()


def wait_for(what: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Seconds until what() held, or None if it never did."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if what():
            return time.monotonic() - start
        time.sleep(step)
    return None


@pytest.fixture()
def live(lab: Lab, faults: Faults, state_home: Path) -> Iterator[Fleet]:
    """A live fleet, made once the faults lock is ours (no one else's fault under it)."""
    fleet = Fleet(parse_config(config_text(lab), "lab.toml"), live=True)
    fleet.start()
    assert wait_for(lambda: all(s.state == HostState.CONNECTED
                                for s in fleet.sessions.values()), 60) is not None, \
        {n: s.reason for n, s in fleet.sessions.items()}
    yield fleet
    fleet.close()


def status(fleet: Fleet, host: str) -> HostStatus:
    return next(s for s in fleet.inventory.host_statuses() if s.name == host)


def row(fleet: Fleet, host: str, name: str, kind: str | None = None):  # type: ignore[no-untyped-def]
    return next(g for g in fleet.inventory.guests(host) if g.name == name
                and (kind is None or g.kind == kind))


@pytest.mark.parametrize("host", ["local", "hostb"])
def test_killed_libvirtd_is_retried_and_its_rows_come_back_true(
        lab: Lab, live: Fleet, faults: Faults, host: str) -> None:
    """Issue 11.5: a degraded host used to stay degraded for ever, showing dead state."""
    domain = DOMAIN[host]
    lab.virsh(host, "start", domain, check=False)
    assert wait_for(lambda: row(live, host, domain).state == GuestState.RUNNING, 30)
    faults.kill(host, "libvirtd")
    noticed = wait_for(lambda: "qemu:///system" in status(live, host).down, 30)
    assert noticed is not None, status(live, host)
    st = status(live, host)
    assert st.state == HostState.DEGRADED and st.stale(row(live, host, domain).endpoint)
    # Docker on the same host is unaffected: its rows are not stale.
    box = row(live, host, CONTAINER[host], DOCKER)
    assert not status(live, host).stale(box.endpoint)
    faults.start(host, "libvirtd")
    back = wait_for(lambda: not status(live, host).down, 30)
    assert back is not None, status(live, host)
    assert status(live, host).state == HostState.CONNECTED
    # What changed while it was away, and after, shows as it is.
    lab.virsh(host, "destroy", domain)
    shown = wait_for(lambda: row(live, host, domain).state == GuestState.SHUTOFF, 15)
    assert shown is not None
    print(f"\nFIGURE libvirtd killed on {host}: noticed {noticed:.2f} s, "
          f"back {back:.2f} s after restart, destroy shown {shown:.2f} s")


@pytest.mark.parametrize("host", ["local", "hostb"])
def test_killed_dockerd_is_retried_and_its_rows_come_back_true(
        lab: Lab, live: Fleet, faults: Faults, host: str) -> None:
    url = DOCKER_URL[host]
    box = CONTAINER[host]
    faults.kill(host, "dockerd")
    noticed = wait_for(lambda: url in status(live, host).down, 30)
    assert noticed is not None, status(live, host)
    assert status(live, host).stale(row(live, host, box, DOCKER).endpoint)
    assert not status(live, host).stale("qemu:///system")
    faults.start(host, "dockerd")  # starts the container again too
    back = wait_for(lambda: not status(live, host).down, 30)
    assert back is not None, status(live, host)
    lab.docker(host, "stop", "-t", "1", box)
    try:
        shown = wait_for(lambda: row(live, host, box, DOCKER).state == GuestState.SHUTOFF, 15)
        assert shown is not None
    finally:
        lab.docker(host, "start", box)
    print(f"\nFIGURE dockerd killed on {host}: noticed {noticed:.2f} s, "
          f"back {back:.2f} s after restart, stop shown {shown:.2f} s")


@pytest.mark.parametrize(("host", "daemon"), [("local", "libvirtd"), ("hostb", "libvirtd"),
                                              ("local", "dockerd"), ("hostb", "dockerd")])
def test_hung_daemon_is_shown_stale_and_comes_back(
        lab: Lab, live: Fleet, faults: Faults, host: str, daemon: str) -> None:
    """Issue 11.14: a SIGSTOPped libvirtd left hostb 'connected' for the whole minute."""
    endpoint = "qemu:///system" if daemon == "libvirtd" else DOCKER_URL[host]
    other = DOCKER_URL[host] if daemon == "libvirtd" else "qemu:///system"
    faults.stop(host, daemon)
    # Probed every 5 s, each probe bounded by the timeout.
    noticed = wait_for(lambda: endpoint in status(live, host).down, 5 + TIMEOUT + 5)
    assert noticed is not None, status(live, host)
    st = status(live, host)
    assert st.state == HostState.DEGRADED and other not in st.down
    assert "answer" in st.reason, st.reason
    faults.cont(host, daemon)
    back = wait_for(lambda: not status(live, host).down, 30)
    assert back is not None, status(live, host)
    print(f"\nFIGURE {daemon} hung on {host}: noticed {noticed:.2f} s "
          f"(timeout {TIMEOUT:g} s), back {back:.2f} s after SIGCONT")


def test_list_reports_each_endpoint_down_and_lists_the_rest(
        lab: Lab, faults: Faults, tmp_path: Path) -> None:
    """Issue 11.13/14: exit 0 and silence with a daemon down; a hung one dropped hostb."""
    config = tmp_path / "lab.toml"
    config.write_text(config_text(lab))
    faults.kill("local", "dockerd")
    faults.stop("hostb", "libvirtd")
    started = time.monotonic()
    proc = run_cli("list", "--json", config=config)
    took = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    assert "host local: unix:///var/run/docker.sock" in proc.stderr
    assert "host hostb: qemu:///system" in proc.stderr and "answer" in proc.stderr
    # What answers is still listed: local's domains, hostb's containers.
    assert '"name": "tiny"' in proc.stdout and '"name": "boxb"' in proc.stdout
    assert '"name": "tinybox"' not in proc.stdout
    assert took < 2 * TIMEOUT + 5, took
    # An action on a guest of the dead endpoint says why, not "no such guest".
    proc = run_cli("start", "local/tinybox", config=config)
    assert proc.returncode == 1, proc.stderr
    assert "docker.sock" in proc.stderr and "no such guest" not in proc.stderr
    print(f"\nFIGURE tuivirt list with hostb's libvirtd hung: {took:.2f} s (timeout "
          f"{TIMEOUT:g} s), exit 1")


def test_action_on_a_hung_daemon_times_out_and_its_late_outcome_is_known(
        lab: Lab, faults: Faults, state_home: Path) -> None:
    """Issue 11.7: `s` on a hung dockerd showed 'starting' for a minute, then ran unannounced."""
    lab.docker("local", "stop", "-t", "1", "tinybox")
    fleet = Fleet(parse_config(config_text(lab), "lab.toml"))
    try:
        assert not fleet.connect(["local"])
        session = fleet.sessions["local"]
        guest = row(fleet, "local", "tinybox", DOCKER)
        faults.stop("local", "dockerd")
        started = time.monotonic()
        with pytest.raises(ActionTimedOut) as caught:
            session.perform(guest, "start")
        took = time.monotonic() - started
        assert TIMEOUT - 0.1 <= took < TIMEOUT + 2, took
        assert "may still take effect" in caught.value.message
        pending = caught.value.pending
        assert isinstance(pending, Pending) and not pending.wait(0)
        faults.cont("local", "dockerd")
        assert pending.wait(30), "the start never came back"
        assert pending.error is None
        assert "true" in lab.docker("local", "inspect", "-f", "{{.State.Running}}", "tinybox")
    finally:
        fleet.close()
        lab.docker("local", "start", "tinybox", check=False)
    print(f"\nFIGURE start on a hung dockerd: timed out after {took:.2f} s "
          f"(timeout {TIMEOUT:g} s); landed after SIGCONT")


def test_closing_a_session_over_a_hung_daemon_is_bounded(
        lab: Lab, faults: Faults, state_home: Path) -> None:
    """A CLI command's exit closed its connections, and closing asks the daemon: a hung
    libvirtd held the process for ever."""
    fleet = Fleet(parse_config(config_text(lab), "lab.toml"))
    assert not fleet.connect(["local"])
    faults.stop("local", "libvirtd")
    started = time.monotonic()
    fleet.close()
    took = time.monotonic() - started
    assert took < 2 * TIMEOUT + 2, took
    print(f"\nFIGURE closing a session over a hung libvirtd: {took:.2f} s (timeout {TIMEOUT:g} s)")
