"""Outside text is drawn inert (issue 11): names, daemon errors, definitions.

Hermetic: fixed data, no daemon. What is checked is what the compositor hands the
terminal (every segment's text), so no widget's way of storing its text matters.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.app import App, ComposeResult

from tests.helpers import forbidden
from tests.ui.pilot import NOW, feed, fixed_app, fixed_guests, fixed_hosts
from tuivirt.inventory import Diff, HostStatus
from tuivirt.model import GuestState, HostState
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.editor.xml_editor import EditorPane

HOSTILE = "evil\u202e\tname\x1b]2;pwned\x07[b]"
SHOWN = "evil\\u202e\\tname\\x1b]2;pwned\\x07[b]"


def screen_lines(app: App[Any]) -> list[str]:
    """Every line as written to the terminal, without the style sequences."""
    update = app.screen._compositor.render_full_update()
    return ["".join(segment.text for strip in line for segment in strip)
            for line in update.strips]


def raw_characters(lines: list[str]) -> list[str]:
    return [c for line in lines for c in line if forbidden(c)]


def hostile_app() -> Any:
    app = fixed_app()
    guests = fixed_guests()
    guests[0] = replace(guests[0], name=HOSTILE, state=GuestState.RUNNING)
    hosts = (HostStatus("local", HostState.LOST, "ssh: \x1b[2Jbanner\x9b31m", since=NOW),
             *fixed_hosts()[1:])
    app._fixed_diff = Diff(added=tuple(guests), hosts=hosts)
    return app


async def test_a_hostile_name_shows_escaped_in_the_table_row() -> None:
    app = hostile_app()
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot)
        lines = screen_lines(app)
        row = next(line for line in lines if "evil" in line)
        assert SHOWN[:24] in row  # the name column (24 cells) shows the escaped name
        assert "running" in row.split(SHOWN[:23])[1]  # the state stays after the name
        assert not raw_characters(lines)


async def test_notifications_and_the_host_panel_are_inert_and_not_markup() -> None:
    app = hostile_app()
    async with app.run_test(size=(160, 30), notifications=True) as pilot:
        await feed(pilot)  # the host panel shows the lost host's reason
        app.notify("\x1b]52;c;cHduZWQ=\x1b\\ [red]no[/red]", severity="error", timeout=30)
        await pilot.pause()
        lines = screen_lines(app)
        assert not raw_characters(lines)
        text = "\n".join(lines)
        assert "\\x1b]52;c;cHduZWQ=\\x1b\\" in text
        assert "[red]no[/red]" in text
        assert "ssh: \\x1b[2Jbanner\\x9b31m" in text


async def test_confirm_lists_hostile_targets_escaped() -> None:
    app = hostile_app()
    async with app.run_test(size=(140, 30)) as pilot:
        await feed(pilot)
        app.push_screen(ConfirmScreen("Undefine 1 guest?", [f"local/{HOSTILE} (kvm)"],
                                      typed=HOSTILE))
        await pilot.pause()
        lines = screen_lines(app)
        assert not raw_characters(lines)
        assert any(f"local/{SHOWN} (kvm)" in line for line in lines)
        # The name as shown confirms (a control character cannot be typed).
        await pilot.press(*SHOWN, "enter")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)


class EditorOnly(App[None]):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield EditorPane(None, ref=None, base=self.text, text=self.text)


async def test_the_editor_draws_c1_and_bidi_inert_and_keeps_the_buffer_exact() -> None:
    # Well-formed XML 1.0: C1 controls and bidi overrides are legal characters.
    text = ("<domain>\n  <name>csi\u009b2J-evil\u202egnp</name>\n"
            "  <description>\u009d\u200b\u2066x\u2069</description>\n</domain>\n")
    app = EditorOnly(text)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        assert not raw_characters(lines)
        assert any("csi\ufffd2J-evil\ufffdgnp" in line for line in lines)
        editor = app.query_one(EditorPane)
        assert editor.text == text  # only the drawing changed
