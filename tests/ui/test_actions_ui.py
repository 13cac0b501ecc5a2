"""The table's action keys go through actions.plan (issue 12, item 1): refusals named,
the pause toggle per guest, the confirmation listing what will run. Fixed data: no lab."""

from __future__ import annotations

from tests.ui.pilot import Notes, feed, fixed_app, until
from tuivirt.ui.common.confirm import ConfirmScreen


async def test_pause_on_marked_guests_refuses_read_only_and_toggles_per_guest() -> None:
    app = fixed_app()
    async with app.run_test(size=(140, 30)) as pilot:
        notes = Notes(app)
        await feed(pilot)
        table = app.main.table
        # A running VM, a paused container, and a guest on the read-only host.
        table.marks.update({"local/kvm:web-frontend", "local/docker:redis", "prod/kvm:payments"})
        await pilot.press("p")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert notes.find("host prod is read-only: refusing to suspend payments", "error")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert screen.title_text == "Pause 2 guests?"
        assert sorted(screen.targets) == ["local/redis  (docker, paused)  → resume",
                                          "local/web-frontend  (kvm, running)  → suspend"]
        await pilot.press("escape")
        assert await until(pilot, lambda: notes.find("cancelled: nothing was changed"))
        assert not table.busy  # nothing was launched


async def test_every_target_refused_asks_nothing() -> None:
    app = fixed_app()
    async with app.run_test(size=(140, 30)) as pilot:
        notes = Notes(app)
        await feed(pilot)
        app.main.table.marks.update({"prod/kvm:payments", "prod/kvm:ledger"})
        await pilot.press("D")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)
        assert notes.find("host prod is read-only: refusing to destroy payments", "error")
        assert notes.find("host prod is read-only: refusing to destroy ledger", "error")
