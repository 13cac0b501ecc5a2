"""ctrl+q inside any editor pane is the pane's close, not the app's quit (fixed data)."""

from __future__ import annotations

from pathlib import Path

from tests.ui.pilot import feed, fixed_app
from tuivirt.model import DefinitionRef
from tuivirt.ui.common.dialogs import ChoiceScreen
from tuivirt.ui.console.terminal import OwnsQuitKey
from tuivirt.ui.editor.xml_editor import EditorPane

REF = DefinitionRef("local", "network", "lan", "qemu:///system",
                    "00000000-0000-4000-8000-000000000001")


class NetworkEditor(EditorPane):
    """A specialised editor, as the next features will add: not named EditorPane."""


async def test_ctrl_q_in_a_subclass_of_the_editor_closes_the_pane_not_the_app(
        state_home: Path) -> None:
    # The app recognised the editor by its class name: any other name quit the app with
    # an unapplied buffer in it.
    assert issubclass(NetworkEditor, OwnsQuitKey)
    app = fixed_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        app.main.show_editor(NetworkEditor(None, ref=REF, base="<network/>",
                                           text="<network><name>n</name></network>"))
        await pilot.pause()
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running
        assert isinstance(app.screen, ChoiceScreen)  # unapplied changes: asked first
