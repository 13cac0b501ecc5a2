"""`q` quits from the table, as the footer says; where q is text, it stays text."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from tests.ui.conftest import feed, fixed_app


async def test_q_on_the_table_quits(state_home: Path) -> None:
    app = fixed_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        assert app.focused is app.main.table
        footer = app.main.active_bindings
        assert "q" in footer and footer["q"].binding.description == "Quit"
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
        assert app.return_code == 0


async def test_q_in_the_filter_box_is_typed_not_quit(state_home: Path) -> None:
    app = fixed_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        await pilot.press("slash", "q")
        await pilot.pause()
        assert app.is_running
        assert app.main.query_one("#filter", Input).value == "q"
        await pilot.press("enter", "q")  # back on the table: now it quits
        await pilot.pause()
        assert not app.is_running
