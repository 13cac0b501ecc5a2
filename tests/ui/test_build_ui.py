"""The build screen, hermetic: the palette's "Image: build" opens the form for the one
writable Docker host; the session's build is replaced by a scripted one (the lab test,
test_build_lab.py, runs real builds). What the user sees: the log as it streams (hostile
output escaped), the outcome, esc asking before it stops a running build, a refusal
bringing the form back with what was typed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import RichLog, Static

from tests.ui.pilot import Notes, feed, fixed_app, form, until
from tuivirt.backends.docker_build import (
    BuildCancelled,
    BuildFailed,
    BuildLine,
    Built,
    LineKind,
)
from tuivirt.session.builds import BuildError
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import FormScreen
from tuivirt.ui.images.build import MAX_LOG_LINES, BuildScreen

SIZE = (120, 36)
IMAGE_ID = "sha256:" + "3b" * 32
HOSTILE = "a\x1b]52;c;cHduZWQ=\x07b\x1b[2Jc\u202ed"


class FakeBuild:
    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()


Script = Callable[[Callable[[BuildLine], None], FakeBuild], Built]


def scripted(app: TuivirtApp, script: Script) -> list[tuple[str, str, bool]]:
    """local's build_image replaced by `script` (on the build's thread); the calls."""
    calls: list[tuple[str, str, bool]] = []
    session = app.fleet.session("local")

    def build_image(directory: str, tag: str, *, no_cache: bool = False,
                    on_line: Any = None, on_build: Any = None) -> Built:
        calls.append((directory, tag, no_cache))
        build = FakeBuild()
        on_build(build)
        return script(on_line, build)

    session.build_image = build_image  # type: ignore[method-assign]
    return calls


async def open_form(pilot: Any) -> FormScreen:
    app: TuivirtApp = pilot.app
    await feed(pilot)
    await pilot.press("colon")
    assert await until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*"Image: build")
    await pilot.pause(0.3)
    await pilot.press("enter")
    return await form(pilot)


async def submit(pilot: Any, directory: str, tag: str) -> None:
    await pilot.press(*directory, "tab", *tag, "enter")


def log_text(screen: BuildScreen) -> list[str]:
    return [strip.text for strip in screen.query_one(RichLog).lines]


def status(screen: BuildScreen) -> str:
    return str(screen.query_one("#build-status", Static).render())


async def test_the_log_streams_escaped_and_the_image_id_is_said() -> None:
    app = fixed_app()

    def script(on_line: Callable[[BuildLine], None], _build: FakeBuild) -> Built:
        on_line(BuildLine(LineKind.STEP, "Step 1/2 : FROM tiny"))
        on_line(BuildLine(LineKind.CACHE, " ---> Using cache"))
        on_line(BuildLine(LineKind.STEP, "Step 2/2 : RUN make"))
        # Raw on purpose: the screen escapes again what it draws, whoever sent it.
        on_line(BuildLine(LineKind.OUTPUT, HOSTILE))
        return Built("web/site:1.0", IMAGE_ID, 2, 1, 0.4, 10240)

    async with app.run_test(size=SIZE) as pilot:
        calls = scripted(app, script)
        await open_form(pilot)
        await submit(pilot, "/srv/web", "web/site:1.0")
        assert await until(pilot, lambda: isinstance(app.screen, BuildScreen))
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        assert await until(pilot, lambda: "built web/site:1.0" in status(screen))
        assert calls == [("/srv/web", "web/site:1.0", False)]
        assert IMAGE_ID in status(screen)
        lines = log_text(screen)
        assert lines[:3] == ["Step 1/2 : FROM tiny", " ---> Using cache",
                             "Step 2/2 : RUN make"]
        assert "a\\x1b]52;c;cHduZWQ=\\x07b\\x1b[2Jc\\u202ed" in lines[3]
        assert all(line.isprintable() for line in lines)
        await pilot.press("escape")  # over: back at once, no question
        assert await until(pilot, lambda: app.screen is app.main)


async def test_a_failed_step_is_shown_with_its_output() -> None:
    app = fixed_app()
    step = "Step 3/4 : RUN ./test"

    def script(on_line: Callable[[BuildLine], None], _build: FakeBuild) -> Built:
        on_line(BuildLine(LineKind.STEP, step))
        on_line(BuildLine(LineKind.OUTPUT, "assertion failed"))
        on_line(BuildLine(LineKind.ERROR, "returned a non-zero code: 2"))
        failed = BuildFailed("returned a non-zero code: 2", step, ("assertion failed",))
        raise BuildError("local", failed.describe(), failed)

    async with app.run_test(size=SIZE) as pilot:
        scripted(app, script)
        await open_form(pilot)
        await submit(pilot, "/srv/t", "t:1")
        assert await until(pilot, lambda: isinstance(app.screen, BuildScreen))
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        assert await until(pilot, lambda: "build failed at" in status(screen))
        said = status(screen)
        assert f"build failed at {step}: returned a non-zero code: 2" in said
        assert "  assertion failed" in said
        assert screen.query_one("#build-status").has_class("-failed")
        assert log_text(screen)[-1] == f"build failed at {step}"


async def test_escape_asks_then_stops_a_running_build() -> None:
    app = fixed_app()
    running = threading.Event()

    def script(on_line: Callable[[BuildLine], None], build: FakeBuild) -> Built:
        on_line(BuildLine(LineKind.STEP, "Step 1/1 : RUN sleep 600"))
        running.set()
        assert build.cancelled.wait(30)
        raise BuildCancelled("t:1")

    async with app.run_test(size=SIZE) as pilot:
        scripted(app, script)
        await open_form(pilot)
        await submit(pilot, "/srv/t", "t:1")
        assert await until(pilot, lambda: isinstance(app.screen, BuildScreen))
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        assert await until(pilot, lambda: "building: Step 1/1" in status(screen))
        await pilot.press("escape")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # not stopped: the build goes on
        assert await until(pilot, lambda: app.screen is screen)
        assert screen.running and not screen.feed.cancelled
        await pilot.press("escape")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: "cancelled: the build of t:1" in status(screen))
        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen is app.main)


@pytest.mark.parametrize(("tag", "refusal"), [
    ("Web:1", "not built: tag Web:1: not a valid REPO:TAG"),  # checked in the form
    ("web:1", "not built: no Dockerfile in /srv/none on local"),  # refused by the host
])
async def test_a_refusal_brings_the_form_back_with_what_was_typed(
        tag: str, refusal: str) -> None:
    app = fixed_app()

    def script(on_line: Callable[[BuildLine], None], _build: FakeBuild) -> Built:
        raise BuildError("local", "no Dockerfile in /srv/none on local")

    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        scripted(app, script)
        await open_form(pilot)
        await submit(pilot, "/srv/none", tag)
        assert await until(pilot, lambda: notes.find(refusal, "error")), notes.items
        again = await form(pilot)
        assert again.values() == {"directory": "/srv/none", "tag": tag, "no_cache": "no"}


async def test_the_log_is_bounded_when_a_step_prints_without_end() -> None:
    app = fixed_app()
    total = MAX_LOG_LINES * 3

    def script(on_line: Callable[[BuildLine], None], _build: FakeBuild) -> Built:
        on_line(BuildLine(LineKind.STEP, "Step 1/1 : RUN yes"))
        for n in range(total):
            on_line(BuildLine(LineKind.OUTPUT, f"y {n}"))
        return Built("t:1", IMAGE_ID, 1, 0, 1.0, 512)

    async with app.run_test(size=SIZE) as pilot:
        scripted(app, script)
        await open_form(pilot)
        await submit(pilot, "/srv/t", "t:1")
        assert await until(pilot, lambda: isinstance(app.screen, BuildScreen))
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        assert await until(pilot, lambda: "built t:1" in status(screen))
        lines = log_text(screen)
        assert len(lines) <= MAX_LOG_LINES
        assert lines[-1] == f"y {total - 1}"  # the newest kept, the oldest gone
