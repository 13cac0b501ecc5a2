"""The full-screen view under daemon faults: what it cannot confirm is shown stale, never
fresh; an action on a hung daemon is bounded, and its late outcome is told."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Lab
from tests.faults import Faults
from tests.ui.pilot import Notes, until
from tuivirt.backends.libvirt.loop import ensure_event_loop
from tuivirt.config import parse_config
from tuivirt.model import DOCKER, GuestState
from tuivirt.session import Fleet
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.console.app import ConsoleApp
from tuivirt.ui.table.host_panel import HostPanel

pytestmark = pytest.mark.lab
TIMEOUT = 3.0


def make_app(lab: Lab) -> TuivirtApp:
    return TuivirtApp(parse_config(f"timeout = {TIMEOUT}\n" + lab.config_text(), "lab.toml"))


async def on_tinybox(pilot: Any) -> None:
    app = pilot.app
    assert await until(pilot, lambda: any(g.name == "tinybox" and g.kind == DOCKER
                                          for g in app.main.table.guests.values()))
    await pilot.press("slash", *"tinybox", "enter")
    await pilot.pause()
    assert app.main.table.current_guest.name == "tinybox"


def state_cell(app: TuivirtApp) -> str:
    table = app.main.table
    guest = table.guests[table.current_guest.key]
    text, _style = table._cell(guest, "state", time.time(), table._base_style(),
                               table._stale(guest))
    return text


async def test_killed_dockerd_greys_its_rows_says_why_and_recovers(
        lab: Lab, faults: Faults, state_home: Path) -> None:
    app = make_app(lab)
    async with app.run_test(size=(150, 40)) as pilot:
        notes = Notes(app)
        await on_tinybox(pilot)
        assert state_cell(app) == "running"
        faults.kill("local", "dockerd")
        assert await until(pilot, lambda: state_cell(app).startswith("? "), 30), \
            "a container of a dead dockerd still showed as confirmed"
        panel = app.main.query_one(HostPanel)
        assert "degraded" in panel.text() and "docker.sock" in panel.text()
        # Libvirt rows of the same host stay fresh.
        tiny = next(g for g in app.main.table.guests.values() if g.name == "tiny")
        assert not app.main.table._stale(tiny)
        await pilot.press("S")
        assert await until(pilot, lambda: notes.find("docker.sock", "error"), 15), notes.items
        assert not notes.find("is not connected")
        faults.start("local", "dockerd")
        assert await until(pilot, lambda: state_cell(app) == "running", 30), state_cell(app)


async def test_action_on_a_hung_dockerd_times_out_then_its_outcome_is_shown(
        lab: Lab, faults: Faults, state_home: Path) -> None:
    lab.docker("local", "stop", "-t", "1", "tinybox")
    app = make_app(lab)
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            notes = Notes(app)
            await on_tinybox(pilot)
            assert await until(pilot, lambda: app.main.table.current_guest.state
                               == GuestState.SHUTOFF)
            faults.stop("local", "dockerd")
            pressed = time.monotonic()
            await pilot.press("s")
            assert await until(pilot, lambda: notes.find("may still take effect", "error"),
                               TIMEOUT + 3), notes.items
            took = time.monotonic() - pressed
            assert not app.main.table.busy, "the row still says it is starting"
            faults.cont("local", "dockerd")
            assert await until(pilot, lambda: notes.find("took effect"), 30), notes.items
            assert await until(pilot, lambda: app.main.table.current_guest.state
                               == GuestState.RUNNING, 30)
            print(f"\nFIGURE start on a hung dockerd (UI): told after {took:.2f} s "
                  f"(timeout {TIMEOUT:g} s); late outcome shown after SIGCONT")
    finally:
        lab.docker("local", "start", "tinybox", check=False)


async def test_incident_console_says_its_libvirtd_died_and_reconnects_when_back(
        lab: Lab, faults: Faults, state_home: Path,
        running_vm: Callable[[str], str]) -> None:
    """Issue 11.15: the header said "connected" over a dead libvirtd, F5 did not help."""
    name = running_vm("hostb")
    ensure_event_loop()  # as `tuivirt console` does: the stream is read on it
    config = parse_config(f"timeout = {TIMEOUT}\n" + lab.config_text(), "lab.toml")
    fleet = Fleet(config)  # incident mode: one console, no live fleet behind it
    try:
        assert not fleet.connect(["hostb"])
        guest = next(g for g in fleet.inventory.guests("hostb") if g.name == name)
        app = ConsoleApp(config, fleet, guest, f"hostb/{name}")
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.pane

            def shown() -> str:
                return "\n".join(pane.terminal.lines())

            assert await until(pilot, lambda: "tiny#" in shown(), 90), shown()[-300:]
            faults.kill("hostb", "libvirtd")
            killed = time.monotonic()
            assert await until(pilot, lambda: pane.state == "disconnected", 30), \
                (pane.state, pane.detail)
            noticed = time.monotonic() - killed
            assert "qemu:///system" in pane.detail, pane.detail
            await pilot.press(*"typed while down")  # says so; nothing hangs
            assert app.is_running
            faults.start("hostb", "libvirtd")
            restarted = time.monotonic()
            await pilot.press("f5")
            assert await until(pilot, lambda: pane.state == "connected", 60), pane.detail
            back = time.monotonic() - restarted
            await pilot.press("ctrl+u", *"echo back-$((4 * 4))", "enter")
            assert await until(pilot, lambda: "back-16" in shown(), 60), shown()[-300:]
            print(f"\nFIGURE tuivirt console, hostb's libvirtd killed: disconnected after "
                  f"{noticed:.2f} s, connected {back:.2f} s after the restart")
    finally:
        fleet.close()
        lab.virsh("hostb", "destroy", name, check=False)
