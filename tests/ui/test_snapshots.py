"""SVG snapshots of the main screen, fed fixed data (no daemons, no clocks, no blinking)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from tests.ui.conftest import feed, fixed_app


def test_main_screen_wide(snap_compare: Any) -> None:
    assert snap_compare(fixed_app(), run_before=feed, terminal_size=(140, 30))


def test_main_screen_80x24(snap_compare: Any) -> None:
    assert snap_compare(fixed_app(), run_before=feed, terminal_size=(80, 24))


def test_light_theme(snap_compare: Any) -> None:
    assert snap_compare(fixed_app(theme="tuivirt-light"), run_before=feed,
                        terminal_size=(120, 26))


def test_filter_active(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await pilot.press("slash")
        pilot.app.query_one("#filter", Input).cursor_blink = False
        await pilot.press(*"kind:kvm !state:shutoff")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 26))


def test_filter_invalid_regex(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await pilot.press("slash")
        pilot.app.query_one("#filter", Input).cursor_blink = False
        await pilot.press(*"web(")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 26))


def test_confirm_destroy_of_marked_guests(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await pilot.press("space", "space", "j", "space", "D")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 30))


def test_help_screen(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(100, 34))


def test_lost_host_rows_are_stale(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(fixed_app(lost=True), run_before=run_before, terminal_size=(140, 30))


def test_grouped_by_host(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await pilot.press("H")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 30))
