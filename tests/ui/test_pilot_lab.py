"""The main screen's keys where only the lab shows it: a real daemon over SSH, Docker, a
host dropping off the network. Every other key runs anywhere: test_pilot_demo.py."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Lab
from tests.ui.pilot import Notes, make_app, ready, until, wait_state
from tuivirt.model import GuestState
from tuivirt.ui.common.confirm import ConfirmScreen

pytestmark = pytest.mark.lab


async def test_start_and_destroy_with_confirmation(lab: Lab, state_home: Path,
                                                   scratch_vm: Callable[[str], str]) -> None:
    name = scratch_vm("hostb")
    app = make_app(lab)
    async with app.run_test(size=(140, 40)) as pilot:
        notes = Notes(app)
        await ready(pilot, name)
        await pilot.press("s")
        assert await wait_state(pilot, lab, "hostb", name, "running")
        assert await until(pilot, lambda: notes.find(f"hostb/{name}: started"))
        # The row follows the daemon's event.
        assert await until(pilot, lambda: app.main.table.current_guest.state
                           == GuestState.RUNNING)
        # D then y: forced off. (The confirmation itself: test_pilot_demo.py.)
        await pilot.press("D")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await wait_state(pilot, lab, "hostb", name, "shut off")


async def test_docker_pause_key(lab: Lab, state_home: Path) -> None:
    lab.docker("local", "start", "tinybox")
    lab.docker("local", "unpause", "tinybox", check=False)
    app = make_app(lab)
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot, "tinybox")
        await pilot.press("p")

        def paused() -> str:
            return lab.docker("local", "inspect", "-f", "{{.State.Paused}}", "tinybox").strip()

        assert await until(pilot, lambda: paused() == "true")
        assert await until(pilot, lambda: app.main.table.current_guest.state
                           == GuestState.PAUSED)
        await pilot.press("p")
        assert await until(pilot, lambda: paused() == "false")


async def test_host_lost_mid_session_turns_rows_stale_and_recovers(
        lab: Lab, state_home: Path) -> None:
    app = make_app(lab)
    async with app.run_test(size=(140, 40)) as pilot:
        notes = Notes(app)
        await ready(pilot, "tinyb")
        tinyb = app.main.table.current_guest
        subprocess.run(["ip", "link", "set", "tvlab0", "down"], check=True)
        try:
            # An action while the host dies: bounded, reported, the UI keeps running.
            app.request_action("start", [tinyb])
            # Rows turn stale as soon as an endpoint stops answering; the host is lost
            # when its SSH keepalive or its last endpoint gives up.
            assert await until(pilot, lambda: app.main.table._stale(tinyb), timeout=60)
            assert await until(pilot, lambda: notes.find("host hostb lost", "error"),
                               timeout=60)
            assert await until(pilot, lambda: notes.find("start failed", "error")
                               or notes.find("hostb/tinyb: started"), timeout=60)
            await pilot.press("j", "k")  # still answering keys
        finally:
            subprocess.run(["ip", "link", "set", "tvlab0", "up"], check=True)
        assert await until(pilot, lambda: not app.main.table._stale(tinyb), timeout=90)
    lab.virsh("hostb", "destroy", "tinyb", check=False)
