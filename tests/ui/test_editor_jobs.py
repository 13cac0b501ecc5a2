"""Thread work that fails, on the demo host: told once, by the screen's one error handler
(ThreadJobs.job_failed), and the UI goes on working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ui.pilot import (
    DEMO_SIZE,
    Notes,
    demo_app,
    demo_conn,
    demo_ready,
    open_editor,
    shown_names,
    to_row,
    until,
)
from tuivirt.model import DefinitionRef


def errors(notes: Notes) -> list[str]:
    return [message for message, severity in notes.items if severity == "error"]


async def test_a_definition_that_vanished_under_the_user_is_told_once(
        state_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await demo_ready(pilot, "build-runner")
        session = app.fleet.session("demo")
        fetch = session.definition
        vanished: list[str] = []

        def undefined_first(ref: DefinitionRef, *, live: bool = False) -> str:
            # Someone else undefines it between the user's `x` and the fetch.
            if not vanished:
                demo_conn(app).lookupByName(ref.name).undefine()
                vanished.append(ref.name)
            return fetch(ref, live=live)

        monkeypatch.setattr(session, "definition", undefined_first)
        await pilot.press("x")
        assert await until(pilot, lambda: bool(errors(notes)))
        await pilot.pause(0.3)  # time for a second report, if there were one
        assert vanished == ["build-runner"]
        [error] = errors(notes)
        assert error.startswith("demo/build-runner: cannot read the definition: ")
        assert app.main.editor is None
        # Still usable: its row goes, the next definition opens.
        assert await until(pilot, lambda: "build-runner" not in shown_names(app))
        await to_row(pilot, "staging-api")
        await pilot.press("x")
        assert await until(pilot, lambda: app.main.editor is not None
                           and app.main.editor.is_mounted
                           and "<name>staging-api</name>" in app.main.editor.text)
        assert len(errors(notes)) == 1


async def test_a_live_xml_fetch_that_fails_unexpectedly_is_told_not_dropped(
        state_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A library error no job expected (not a TuivirtError) was dropped: ctrl+l did
    nothing, silently. It is told once, with its kind; the pane keeps working."""
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        pane = await open_editor(pilot, "web-frontend")
        session = app.fleet.session("demo")
        fetch = session.definition
        broken = [True]

        def surprise(ref: DefinitionRef, *, live: bool = False) -> Any:
            if live and broken:
                raise RuntimeError("libvirt: internal error: client socket is closed")
            return fetch(ref, live=live)

        monkeypatch.setattr(session, "definition", surprise)
        await pilot.press("ctrl+l")
        assert await until(pilot, lambda: bool(errors(notes)), timeout=5)
        await pilot.pause(0.3)
        assert errors(notes) == ["live XML of demo/web-frontend: RuntimeError: libvirt: "
                                 "internal error: client socket is closed"]
        assert not pane.showing_live and app.focused is pane.area
        broken.clear()
        await pilot.press("ctrl+l")
        assert await until(pilot, lambda: pane.showing_live)
        assert len(errors(notes)) == 1
