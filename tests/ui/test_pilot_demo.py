"""Every key of the main screen, pressed in the app against the demo host (runs anywhere).

The demo host is libvirt's in-process test driver: actions really reach a libvirt driver
and come back as its events, with no daemon and no root. What only a real daemon shows
(QEMU, SSH, Docker, a host dropping off the network) stays in test_pilot_lab.py.
"""

from __future__ import annotations

import libvirt
from textual.command import CommandPalette

from tests.ui.pilot import (
    DEMO_GUESTS,
    DEMO_SIZE,
    SPARE,
    Notes,
    demo_app,
    demo_conn,
    demo_ready,
    demo_state,
    row_state,
    shown_names,
    to_row,
    until,
)
from tuivirt.model import GuestState
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.help import HelpScreen

RUNNING, PAUSED, SHUTOFF = (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED,
                            libvirt.VIR_DOMAIN_SHUTOFF)


async def test_start_then_destroy_asks_first_and_escape_changes_nothing(state_home: object
                                                                        ) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await demo_ready(pilot, "build-runner")
        await pilot.press("s")
        assert await until(pilot, lambda: notes.find("demo/build-runner: started"))
        assert demo_state(app, "build-runner") == RUNNING
        # The row follows the driver's event.
        assert await until(pilot, lambda: row_state(app, "build-runner") == GuestState.RUNNING)
        # D asks first; esc cancels and nothing happens.
        await pilot.press("D")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert [t for t in app.screen.targets if "demo/build-runner" in t]
        await pilot.press("escape")
        assert await until(pilot, lambda: notes.find("cancelled: nothing was changed"))
        assert not isinstance(app.screen, ConfirmScreen)
        assert demo_state(app, "build-runner") == RUNNING
        # D then y: forced off.
        await pilot.press("D")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("demo/build-runner: destroyed"))
        assert demo_state(app, "build-runner") == SHUTOFF
        assert await until(pilot, lambda: row_state(app, "build-runner") == GuestState.SHUTOFF)


async def test_pause_toggles_and_autostart_shutdown_reboot_reach_the_driver(
        state_home: object) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await demo_ready(pilot, "web-frontend")
        await pilot.press("p")  # running: pause
        assert await until(pilot, lambda: row_state(app, "web-frontend") == GuestState.PAUSED)
        assert demo_state(app, "web-frontend") == PAUSED
        await pilot.press("p")  # paused: resume
        assert await until(pilot, lambda: row_state(app, "web-frontend") == GuestState.RUNNING)
        assert demo_state(app, "web-frontend") == RUNNING
        assert notes.find("demo/web-frontend: suspended")
        assert notes.find("demo/web-frontend: resumed")

        dom = demo_conn(app).lookupByName("web-frontend")
        assert not dom.autostart()
        await pilot.press("a")
        assert await until(pilot, lambda: notes.find("autostart on"))
        assert dom.autostart()
        await pilot.press("a")  # the row knows it is on now: the key turns it off
        assert await until(pilot, lambda: notes.find("autostart off"))
        assert not dom.autostart()

        await pilot.press("r")
        assert await until(pilot, lambda: notes.find("demo/web-frontend: reboot requested"))
        await pilot.press("S")
        assert await until(pilot, lambda: notes.find("demo/web-frontend: shutdown requested"))
        assert demo_state(app, "web-frontend") == SHUTOFF  # the test driver obeys at once
        assert await until(pilot, lambda: row_state(app, "web-frontend") == GuestState.SHUTOFF)


async def test_marks_on_two_hosts_survive_a_filter_and_all_act_after_one_confirmation(
        state_home: object) -> None:
    app = demo_app(spare=True)
    async with app.run_test(size=DEMO_SIZE) as pilot:
        await demo_ready(pilot, "build-runner")
        await pilot.press("space")
        await to_row(pilot, "staging-api", SPARE)
        await pilot.press("space")
        assert "2 marked" in str(app.main.query_one("#status").render())
        # A filter that hides one of them: both still go.
        await pilot.press("slash", *"build", "enter")
        assert await until(pilot, lambda: shown_names(app) == ["build-runner", "build-runner"])
        await pilot.press("s")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        targets = app.screen.targets
        assert len(targets) == 2
        assert any("demo/build-runner" in t for t in targets)
        assert any(f"{SPARE}/staging-api" in t for t in targets)
        await pilot.press("y")
        assert await until(pilot, lambda: row_state(app, "staging-api", SPARE)
                           == GuestState.RUNNING and row_state(app, "build-runner")
                           == GuestState.RUNNING)
        assert demo_state(app, "build-runner") == RUNNING
        assert demo_state(app, "staging-api", SPARE) == RUNNING
        # Only the marked ones: the same name on the other host was left alone.
        assert demo_state(app, "build-runner", SPARE) == SHUTOFF
        # u unmarks: the next action is for the row under the cursor alone.
        await pilot.press("u")
        assert "marked" not in str(app.main.query_one("#status").render())


async def test_read_only_host_refuses_with_a_message(state_home: object) -> None:
    app = demo_app(spare_read_only=True)
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await demo_ready(pilot, "build-runner", SPARE)
        await pilot.press("s")
        assert await until(pilot, lambda: notes.find(f"host {SPARE} is read-only", "error"))
        await pilot.press("D")  # refused before any confirmation is asked
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert demo_state(app, "build-runner", SPARE) == SHUTOFF
        # The writable host next to it still acts.
        await to_row(pilot, "build-runner")
        await pilot.press("s")
        assert await until(pilot, lambda: demo_state(app, "build-runner") == RUNNING)


async def test_undefine_needs_the_name_typed(state_home: object) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await demo_ready(pilot, "win2022-ad")

        def defined() -> bool:
            return "win2022-ad" in [d.name() for d in demo_conn(app).listAllDomains()]

        await pilot.press("U")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(*"wrong", "enter")
        await pilot.pause()
        assert notes.find("to confirm")
        assert isinstance(app.screen, ConfirmScreen)
        assert defined()
        await pilot.press("y")  # not enough either: the name is asked for
        await pilot.pause()
        assert defined()
        await pilot.press(*["backspace"] * 6, *"win2022-ad", "enter")
        assert await until(pilot, lambda: not defined())
        assert await until(pilot, lambda: row_state(app, "win2022-ad") is None)
        assert len(app.main.table.guests) == DEMO_GUESTS - 1


async def test_filter_words_regex_negation_and_a_bad_regex(state_home: object) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        await demo_ready(pilot)
        table = app.main.table
        status = app.main.query_one("#status")

        async def filtered(text: str) -> list[str]:
            await pilot.press("escape", "slash", *text)
            await pilot.pause()
            return sorted(shown_names(app))

        assert await filtered("state:shutoff") == ["build-runner", "staging-api", "win2022-ad"]
        assert f"3 of {DEMO_GUESTS} guests" in str(status.render())
        assert await filtered("host:demo state:paused") == ["db-replica"]
        assert await filtered("host:nowhere") == []
        assert await filtered("^k8s-node-[12]$") == ["k8s-node-1", "k8s-node-2"]
        assert await filtered("!state:running !state:paused") == [
            "build-runner", "staging-api", "win2022-ad"]
        assert await filtered("!name:-") == ["monitoring"]
        # A bad regex: said so; the last good filter stays on screen.
        assert await filtered("web") == ["web-backend", "web-frontend"]
        await pilot.press(*"(")
        await pilot.pause()
        assert app.main.filter_error and "not a valid regex" in app.main.filter_error
        assert "filter error" in str(status.render())
        assert sorted(shown_names(app)) == ["web-backend", "web-frontend"]
        # esc: every row again.
        await pilot.press("escape")
        await pilot.pause()
        assert table.visible_count() == DEMO_GUESTS
        assert not app.main.filter_error


async def test_cursor_keys_j_k_g_G(state_home: object) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        await demo_ready(pilot)
        table = app.main.table
        await pilot.press("G")
        assert table.cursor == DEMO_GUESTS - 1
        await pilot.press("k", "k")
        assert table.cursor == DEMO_GUESTS - 3
        await pilot.press("j")
        assert table.cursor == DEMO_GUESTS - 2
        await pilot.press("g")
        assert table.cursor == 0
        await pilot.press("k")  # the top stays the top
        assert table.cursor == 0
        first = shown_names(app)[0]
        assert table.current_guest is not None and table.current_guest.name == first


async def test_sort_reverse_and_group_by_host(state_home: object) -> None:
    app = demo_app(spare=True)
    async with app.run_test(size=DEMO_SIZE) as pilot:
        await demo_ready(pilot)
        table = app.main.table
        status = app.main.query_one("#status")
        while table.sort_column != "memory":
            before = table.sort_column
            await pilot.press("o")
            assert table.sort_column != before  # o moves to the next column
        await pilot.pause()
        assert "sort: memory" in str(status.render())
        memory = [table.guests[k].memory_mib or 0 for k in table.rows]
        assert memory == sorted(memory) and memory[0] < memory[-1]
        await pilot.press("O")
        await pilot.pause()
        memory = [table.guests[k].memory_mib or 0 for k in table.rows]
        assert memory == sorted(memory, reverse=True)
        assert "sort: memory ▼" in str(status.render())
        # H: a heading per host, each host's rows under it.
        await pilot.press("H")
        await pilot.pause()
        assert "grouped by host" in str(status.render())
        headings = [i for i, k in enumerate(table.rows) if k not in table.guests]
        assert len(headings) == 2
        under = [table.guests[k].host for k in table.rows[headings[1] + 1:]]
        assert len(under) == DEMO_GUESTS and len(set(under)) == 1
        await pilot.press("H")
        await pilot.pause()
        assert all(k in table.guests for k in table.rows)


async def test_help_and_the_command_palette(state_home: object) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await demo_ready(pilot, "staging-api")
        await pilot.press("question_mark")
        assert await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen is app.main)
        # The palette runs the same actions as the keys: start the guest under the cursor.
        await pilot.press("colon")
        assert await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Guest: start")
        await pilot.pause(0.3)
        await pilot.press("enter")
        assert await until(pilot, lambda: notes.find("demo/staging-api: started"))
        assert demo_state(app, "staging-api") == RUNNING


async def test_action_on_a_vanished_guest_reports_the_drivers_error(state_home: object
                                                                     ) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await demo_ready(pilot)
        stale = await to_row(pilot, "win2022-ad")
        demo_conn(app).lookupByName("win2022-ad").undefine()  # behind the app's back
        app.request_action("start", [stale])
        assert await until(pilot, lambda: notes.find("demo/win2022-ad: start failed", "error"))
        assert any("domain" in m.lower() for m, s in notes.items if s == "error")
