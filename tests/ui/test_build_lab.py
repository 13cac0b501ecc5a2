"""Building from the full app against the lab, keys only: the palette's "Image: build",
the host chosen, the form typed; the real log streams into the build screen (the
article's image on hostb, from a context in hostb's private /run), the new image's id is
said and is the daemon's; a failing RUN step on local shows that step and its output."""

from __future__ import annotations

from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import OptionList, RichLog, Static

from tests.conftest import Lab
from tests.integration.test_build_lab import ARTICLE, FAILING, INDEX, Contexts, contexts
from tests.ui.pilot import form, make_app, ready, until
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.dialogs import ChoiceScreen
from tuivirt.ui.images.build import BuildScreen

pytestmark = pytest.mark.lab
__all__ = ["contexts"]  # the fixture, used here by name

SIZE = (130, 40)


async def build_screen(pilot: Any, host: str, directory: str, tag: str) -> BuildScreen:
    app: TuivirtApp = pilot.app
    await pilot.press("colon")
    assert await until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*"Image: build")
    await pilot.pause(0.3)
    await pilot.press("enter")
    assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
    options = app.screen.query_one(OptionList)
    while options.get_option_at_index(options.highlighted or 0).id != host:
        await pilot.press("down")
    await pilot.press("enter")
    await form(pilot)
    await pilot.press(*directory, "tab", *tag, "enter")
    assert await until(pilot, lambda: isinstance(app.screen, BuildScreen))
    screen = app.screen
    assert isinstance(screen, BuildScreen)
    return screen


def status(screen: BuildScreen) -> str:
    return str(screen.query_one("#build-status", Static).render())


def log_text(screen: BuildScreen) -> list[str]:
    return [strip.text.rstrip() for strip in screen.query_one(RichLog).lines]


async def test_build_on_hostb_streams_its_log_and_says_the_image(
        lab: Lab, contexts: Contexts) -> None:
    directory = contexts.make("hostb", {"Dockerfile": ARTICLE, "index.html": INDEX})
    tag = contexts.tag("hostb")
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = await build_screen(pilot, "hostb", directory, tag)
        assert await until(pilot, lambda: f"built {tag}:" in status(screen), 60), \
            (status(screen), log_text(screen))
        lines = log_text(screen)
        assert "Step 4/5 : ADD index.html /srv/www/index.html" in lines
        assert f"Successfully tagged {tag}" in lines
        image_id = lab.docker("hostb", "image", "inspect", "-f", "{{.Id}}", tag).strip()
        assert f"built {tag}: {image_id}" in status(screen)
        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen is app.main)
    assert contexts.run("hostb", tag) == f"hello-from-env\n{INDEX}"


async def test_a_failing_step_shows_in_the_build_screen(lab: Lab, contexts: Contexts
                                                        ) -> None:
    directory = contexts.make("local", {"Dockerfile": FAILING})
    tag = contexts.tag("local")
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = await build_screen(pilot, "local", directory, tag)
        assert await until(pilot, lambda: "build failed at" in status(screen), 60)
        said = status(screen)
        step = "Step 3/4 : RUN echo about to fail; echo 'went wrong' >&2; exit 7"
        assert f"build failed at {step}" in said
        assert "  about to fail" in said and "  went wrong" in said
        assert log_text(screen)[-1] == f"build failed at {step}"
    assert lab.docker("local", "images", "-q", tag) == ""
