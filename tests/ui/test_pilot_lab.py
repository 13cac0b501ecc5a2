"""Every key of the main screen, pressed in the app against the lab's real guests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Lab
from tests.ui.pilot import Notes, make_app, ready, until, wait_state
from tuivirt.model import GuestState
from tuivirt.ui.screens.confirm import ConfirmScreen
from tuivirt.ui.screens.help import HelpScreen

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
        # D asks first; esc cancels and nothing happens.
        await pilot.press("D")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert any(f"hostb/{name}" in t for t in app.screen.targets)
        await pilot.press("escape")
        await pilot.pause(0.5)
        assert not isinstance(app.screen, ConfirmScreen)
        assert lab.domstate("hostb", name) == "running"
        # D then y: forced off.
        await pilot.press("D")
        await pilot.pause()
        await pilot.press("y")
        assert await wait_state(pilot, lab, "hostb", name, "shut off")


async def test_pause_resume_and_autostart_keys(lab: Lab, state_home: Path,
                                               scratch_vm: Callable[[str], str]) -> None:
    name = scratch_vm("local")
    lab.virsh("local", "start", name)
    app = make_app(lab)
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot, name)
        assert await until(pilot, lambda: app.main.table.current_guest.state
                           == GuestState.RUNNING)
        await pilot.press("p")
        assert await wait_state(pilot, lab, "local", name, "paused")
        assert await until(pilot, lambda: app.main.table.current_guest.state
                           == GuestState.PAUSED)
        await pilot.press("p")
        assert await wait_state(pilot, lab, "local", name, "running")
        await pilot.press("a")
        assert await until(pilot, lambda: "enable" in lab.virsh("local", "dominfo", name))
        # The shutdown and reboot keys reach the daemon (ACPI: accepted while running).
        await pilot.press("r")
        await pilot.press("S")
        await pilot.pause(1)
        assert lab.domstate("local", name) in ("running", "in shutdown", "shut off")


async def test_marks_apply_to_every_marked_guest_after_confirmation(
        lab: Lab, state_home: Path, scratch_vm: Callable[[str], str]) -> None:
    first, second = scratch_vm("local"), scratch_vm("hostb")
    app = make_app(lab)
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot, first)
        await pilot.press("space")
        await ready(pilot, second)
        await pilot.press("space")
        # Marks survive a filter that hides one of them, and live updates.
        await pilot.press("slash", *"tvtest", "enter")
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert len(app.screen.targets) == 2
        await pilot.press("y")
        assert await wait_state(pilot, lab, "local", first, "running")
        assert await wait_state(pilot, lab, "hostb", second, "running")


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


async def test_read_only_host_refuses_with_a_message(lab: Lab, state_home: Path,
                                                     scratch_vm: Callable[[str], str]) -> None:
    name = scratch_vm("hostb")
    app = make_app(lab, hostb_read_only=True)
    async with app.run_test(size=(140, 40)) as pilot:
        notes = Notes(app)
        await ready(pilot, name)
        await pilot.press("s")
        await pilot.pause(0.5)
        assert notes.find("host hostb is read-only", "error")
        assert lab.domstate("hostb", name) == "shut off"


async def test_undefine_needs_the_name_typed(lab: Lab, state_home: Path,
                                             scratch_vm: Callable[[str], str]) -> None:
    name = scratch_vm("local")
    app = make_app(lab)
    async with app.run_test(size=(140, 40)) as pilot:
        notes = Notes(app)
        await ready(pilot, name)
        await pilot.press("U")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"wrong", "enter")
        await pilot.pause()
        assert notes.find("to confirm")
        assert name in lab.virsh("local", "list", "--all", "--name")
        await pilot.press(*["backspace"] * 5, *name, "enter")
        assert await until(pilot, lambda: name not in lab.virsh("local", "list", "--all",
                                                                "--name"))
        assert await until(pilot, lambda: all(g.name != name
                                              for g in app.main.table.guests.values()))


async def test_filter_help_and_bad_regex(lab: Lab, state_home: Path) -> None:
    app = make_app(lab)
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"host:hostb kind:docker")
        await pilot.pause()
        table = app.main.table
        assert [table.guests[k].name for k in table.rows] == ["boxb"]
        await pilot.press("escape")
        await pilot.pause()
        assert table.visible_count() == len(table.guests)
        await pilot.press("slash", *"tiny(")
        await pilot.pause()
        assert app.main.filter_error and "not a valid regex" in app.main.filter_error
        assert table.visible_count() == len(table.guests)  # the last good filter stays
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("g")
        assert table.cursor == 0
        await pilot.press("G")
        assert table.cursor == len(table.rows) - 1
        await pilot.press("k")
        assert table.cursor == len(table.rows) - 2
        await pilot.press("j")
        assert table.cursor == len(table.rows) - 1


async def test_action_on_a_vanished_guest_reports_the_daemon_error(
        lab: Lab, state_home: Path, scratch_vm: Callable[[str], str]) -> None:
    name = scratch_vm("local")
    app = make_app(lab)
    async with app.run_test(size=(140, 40)) as pilot:
        notes = Notes(app)
        await ready(pilot, name)
        stale = app.main.table.current_guest
        lab.virsh("local", "undefine", name)
        app.request_action("start", [stale])
        assert await until(pilot, lambda: notes.find("start failed", "error"))
        assert any("domain" in m.lower() for m, _s in notes.items)


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
