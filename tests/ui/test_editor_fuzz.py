"""Property: whatever lands in the editor's buffer, the editor and its checks never crash.

A buffer can hold anything a paste or $EDITOR produced: bytes that are not UTF-8 (decoded
with surrogateescape), lone surrogates, control characters, half an XML document.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult

from tests.ui.pilot import DOMAIN_XML
from tuivirt.model import DefinitionRef
from tuivirt.ui.common.dialogs import DiffScreen
from tuivirt.ui.editor.xml_editor import EditorPane
from tuivirt.xmltools import check_well_formed

REF = DefinitionRef("local", "domain", "web-frontend", "qemu:///system",
                    "00000000-0000-4000-8000-000000000000")

# Mutations of a real definition reach the deeper checks (identity, diff); raw bytes and
# text hit the parser and the renderer.
xml_like = st.builds(
    lambda cut, junk, at: DOMAIN_XML[:at] + junk + DOMAIN_XML[at + cut:],
    st.integers(0, 40), st.text(max_size=40), st.integers(0, len(DOMAIN_XML)))
buffers = st.one_of(
    st.binary(max_size=3000).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.text(max_size=3000),
    xml_like,
)


class OnePane(App[None]):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield EditorPane(None, ref=REF, base=DOMAIN_XML, text=self.text)


async def exercise(text: str) -> None:
    app = OnePane(text)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(EditorPane)
        await pilot.pause()
        before = pane.text
        pane.validate()
        await pilot.press("ctrl+s")  # refused, or the diff to confirm: never applied here
        await pilot.pause()
        if isinstance(app.screen, DiffScreen):
            await pilot.press("escape")
        await pilot.press("ctrl+t")
        await pilot.pause()
        if isinstance(app.screen, DiffScreen):
            await pilot.press("escape")
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert pane.text == before  # trying to apply never touches the buffer
        assert (pane.problem is None) == (check_well_formed(pane.text) is None)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=buffers)
def test_any_buffer_never_crashes_the_editor(text: str, state_home: Path) -> None:
    asyncio.run(exercise(text))
