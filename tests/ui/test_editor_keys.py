"""Keys in the editor pane stay in the pane (fixed data, no daemons)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ui.pilot import DOMAIN_XML, REF, feed, fixed_app
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import ChoiceScreen
from tuivirt.ui.editor.xml_editor import EditorPane


async def test_letters_in_a_read_only_view_never_reach_the_table(state_home: Path) -> None:
    app = fixed_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        app.main.show_editor(EditorPane(None, ref=None, base="{}", text='{"Id": "x"}',
                                        language="json", title="local/nginx"))
        await pilot.pause()
        await pilot.pause()
        pane: Any = app.main.editor
        assert pane is not None and app.focused is pane.area
        await pilot.press("D", "r", "S", "q")  # destroy, reboot, shutdown, quit on the table
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.is_running and pane.text == '{"Id": "x"}'


async def test_ctrl_q_in_the_editor_closes_it_and_asks_about_the_buffer(
        state_home: Path) -> None:
    app = fixed_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        app.main.show_editor(EditorPane(None, ref=REF, base=DOMAIN_XML,
                                        text=DOMAIN_XML.replace("2097152", "4194304")))
        await pilot.pause()
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running  # not the app's quit
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.main.editor is not None


async def test_a_burst_of_keys_edits_where_the_keys_say(state_home: Path) -> None:
    # Keys read in one go (a paste of keys, a slow SSH link delivering them together)
    # reach the app back to back, as the driver posts them. Textual ran a TextArea's
    # cursor bindings only once the key had bubbled up to the app, after the letters
    # behind it were already typed: `Down End Z` put the Z at the top of the buffer.
    from textual import events

    app = fixed_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        app.main.show_editor(EditorPane(None, ref=REF, base=DOMAIN_XML, text=DOMAIN_XML))
        await pilot.pause()
        await pilot.pause()
        pane: Any = app.main.editor
        assert app.focused is pane.area and pane.area.cursor_location == (0, 0)
        for key, char in [("down", None), ("end", None), ("Z", "Z"), ("down", None),
                          ("home", None), ("shift+right", None), ("Q", "Q"),
                          ("backspace", None), ("right", None), ("W", "W")]:
            app.post_message(events.Key(key, char))
        await pilot.pause()
        await pilot.pause()
        lines = DOMAIN_XML.splitlines()
        lines[1] += "Z"
        # home: the first non-blank; "<" selected, replaced by Q, Q deleted, W after "u".
        lines[2] = "  uWuid>" + lines[2].removeprefix("  <uuid>")
        assert pane.text.splitlines()[:3] == lines[:3]
