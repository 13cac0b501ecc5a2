"""The images view (`I`) and `n` against the lab, keys only: both hosts' images listed;
an image tagged and pushed from local to the lab's registry (hostb, 10.77.0.2:5000) and
pulled on hostb, each with its progress seen; remove refused while a container uses the
image, then the name typed; prune saying what it frees before it frees it. And issue 13:
`n` in the main screen makes a Docker container on hostb from an image only the registry
holds, its pull shown on the progress screen. Every outcome checked with docker too.

Names are tvtest-img-<hex>; whatever was made under them is removed afterwards.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Lab
from tests.ui.pilot import Notes, fill_form, form, make_app, ready, until
from tuivirt.create.container import PullStatus
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import ChoiceScreen
from tuivirt.ui.create.pull import PullScreen, PullWatch
from tuivirt.ui.images.screen import ImagesScreen

pytestmark = pytest.mark.lab

REGISTRY = "10.77.0.2:5000"
SIZE = (150, 45)
DOCKER_FIELDS = ["name", "image", "cmd", "env", "ports", "volumes", "restart", "start"]


@pytest.fixture()
def scratch(lab: Lab) -> Iterator[Callable[..., str]]:
    """Fresh tvtest-img-<hex> names of images or containers; removed afterwards."""
    made: list[tuple[str, str, str]] = []  # (host, "image"|"container", name)

    def name(kind: str, host: str = "local", value: str | None = None) -> str:
        value = value or f"tvtest-img-{uuid.uuid4().hex[:8]}"
        made.append((host, kind, value))
        return value

    yield name
    for host, kind, value in reversed(made):
        if kind == "container":
            lab.docker(host, "rm", "-f", value, check=False)
    for host, kind, value in made:
        if kind == "image":
            for line in lab.docker(host, "images", "--format", "{{.Repository}}:{{.Tag}}",
                                   check=False).split():
                if value in line:
                    lab.docker(host, "rmi", "-f", line, check=False)


@pytest.fixture()
def seen(monkeypatch: pytest.MonkeyPatch) -> list[PullStatus]:
    """Every progress picture a pull or push screen was given (a small image's whole
    pull can be over between two frames)."""
    statuses: list[PullStatus] = []
    original = PullWatch.progress

    def progress(self: PullWatch, status: PullStatus) -> None:
        statuses.append(status)
        original(self, status)

    monkeypatch.setattr(PullWatch, "progress", progress)
    return statuses


def build(lab: Lab, host: str, tag: str) -> str:
    """A new image (its own id) from the lab's base image; its id."""
    url = lab.hostb_docker if host == "hostb" else "unix:///var/run/docker.sock"
    subprocess.run(["docker", "-H", url, "build", "-q", "-t", tag, "-"], check=True,
                   input=f"FROM tiny:latest\nLABEL tvtest={uuid.uuid4().hex}\n", text=True,
                   capture_output=True, timeout=120)
    return lab.docker(host, "image", "inspect", "-f", "{{.Id}}", tag).strip()


def tags(lab: Lab, host: str) -> list[str]:
    return lab.docker(host, "images", "--format", "{{.Repository}}:{{.Tag}}").split()


async def open_images(pilot: Any) -> ImagesScreen:
    app: TuivirtApp = pilot.app
    await ready(pilot)
    await pilot.press("I")
    assert await until(pilot, lambda: isinstance(app.screen, ImagesScreen))
    screen = app.screen
    assert isinstance(screen, ImagesScreen)
    assert await until(pilot, lambda: {"local", "hostb"} <= set(screen.images), 30), \
        screen.errors
    return screen


async def to_row(pilot: Any, screen: ImagesScreen, host: str, shown: str) -> None:
    """Once the row shows: j or k until the cursor is on it."""
    assert await until(pilot, lambda: (host, shown) in [(r.host, r.shown)
                                                        for r in screen.rows], 30)
    for _ in range(len(screen.rows) + 1):
        row = screen.current_row
        if row is not None and (row.host, row.shown) == (host, shown):
            return
        wanted = [(r.host, r.shown) for r in screen.rows].index((host, shown))
        await pilot.press("j" if screen.table().cursor_row < wanted else "k")
    raise AssertionError(f"cursor never reached {host}/{shown}")


def layered(statuses: list[PullStatus], verb: str, image: str) -> bool:
    return any(s.verb == verb and s.image == image and s.layers >= 1 and s.per_layer
               for s in statuses)


async def test_I_shows_both_hosts_images_with_their_users(lab: Lab,
                                                          state_home: Path) -> None:
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_images(pilot)
        tiny = {r.host: r for r in screen.rows if r.tag == "tiny:latest"}
        assert set(tiny) == {"local", "hostb"}
        assert "tinybox" in tiny["local"].image.used_by
        assert "boxb" in tiny["hostb"].image.used_by
        ids = {h: lab.docker(h, "image", "inspect", "-f", "{{.Id}}", "tiny").strip()
               for h in ("local", "hostb")}
        assert {h: r.image.id for h, r in tiny.items()} == ids


async def test_tag_push_from_local_then_pull_on_hostb_with_progress(
        lab: Lab, state_home: Path, scratch: Callable[..., str],
        seen: list[PullStatus]) -> None:
    local_name = scratch("image")
    build(lab, "local", f"{local_name}:1")
    repository = scratch("image")
    scratch("image", "hostb", repository)  # the pulled one
    remote = f"{REGISTRY}/{repository}:1"
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        screen = await open_images(pilot)
        await to_row(pilot, screen, "local", f"{local_name}:1")
        await pilot.press("t")
        await form(pilot)
        await pilot.press(*remote, "enter")
        assert await until(pilot, lambda: notes.find(f"local: {local_name}:1 tagged {remote}"),
                           30), notes.items
        assert remote in tags(lab, "local")
        assert await until(pilot, lambda: screen.current_row is not None
                           and screen.current_row.shown == remote, 30)

        await pilot.press("u")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.targets[0].endswith(f"to {REGISTRY}")
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find(f"local: pushed {remote}"), 120), \
            notes.items
        assert layered(seen, "pushing", remote), seen

        assert remote not in tags(lab, "hostb")
        await to_row(pilot, screen, "hostb", "tiny:latest")  # the pull form takes its host
        await pilot.press("p")
        fields = await form(pilot)
        assert fields.values()["host"] == "hostb"
        await pilot.press("tab", *remote, "enter")
        assert await until(pilot, lambda: notes.find(f"hostb: pulled {remote}"), 120), \
            notes.items
        assert layered(seen, "pulling", remote), seen
        assert remote in tags(lab, "hostb")
        # the pulled image is listed on hostb, under the cursor
        assert await until(pilot, lambda: screen.current_row is not None
                           and (screen.current_row.host, screen.current_row.shown)
                           == ("hostb", remote), 30)


async def test_remove_refused_while_in_use_then_the_name_typed(
        lab: Lab, state_home: Path, scratch: Callable[..., str]) -> None:
    tag = f"{scratch('image')}:1"
    build(lab, "local", tag)
    container = scratch("container")
    lab.docker("local", "create", "--name", container, "--network", "none", tag, "true")
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        screen = await open_images(pilot)
        await to_row(pilot, screen, "local", tag)
        await pilot.press("d")
        assert await until(pilot, lambda: notes.find(
            f"local/{tag}: not removed: in use by 1 container(s): {container}"), 30), \
            notes.items
        assert tag in tags(lab, "local")

        lab.docker("local", "rm", container)  # the fleet's news relists the images
        assert await until(pilot, lambda: any(r.tag == tag and not r.image.used_by
                                               for r in screen.rows), 30)
        await to_row(pilot, screen, "local", tag)
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30)
        await pilot.press(*tag, "enter")
        assert await until(pilot, lambda: notes.find(f"local: untagged {tag}"), 30), \
            notes.items
        assert tag not in tags(lab, "local")
        assert await until(pilot, lambda: tag not in [r.tag for r in screen.rows], 30)


async def test_prune_says_how_much_it_frees_before_it_prunes(
        lab: Lab, state_home: Path, scratch: Callable[..., str]) -> None:
    tag = f"{scratch('image')}:1"
    old = build(lab, "local", tag)
    build(lab, "local", tag)  # the tag moves on: the first image is dangling now
    short = old.removeprefix("sha256:")[:12]
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        screen = await open_images(pilot)
        await to_row(pilot, screen, "local", f"<none> {short}")
        await pilot.press("X")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.title_text.startswith("Prune on local: ")
        assert "dangling image(s), up to " in confirm.title_text
        assert "would be freed" in confirm.title_text
        assert any(t.startswith(f"local/{short} (") for t in confirm.targets)
        assert lab.docker("local", "image", "inspect", old, check=False)  # still there
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("local: pruned "), 60), notes.items
        assert subprocess.run(["docker", "image", "inspect", old], capture_output=True,
                              check=False).returncode != 0
        assert await until(pilot, lambda: short not in [r.image.short_id
                                                         for r in screen.rows], 30)


async def test_n_makes_a_container_on_hostb_from_an_image_only_the_registry_holds(
        lab: Lab, state_home: Path, scratch: Callable[..., str],
        seen: list[PullStatus]) -> None:
    repository = scratch("image")
    scratch("image", "hostb", repository)
    remote = f"{REGISTRY}/{repository}:1"
    lab.docker("local", "tag", "tiny:latest", remote)
    lab.docker("local", "push", remote)
    assert remote not in tags(lab, "hostb")
    name = scratch("container", "hostb")
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        await ready(pilot)
        await pilot.press("n")
        await choose(pilot, "docker")
        await choose(pilot, "hostb")
        await form(pilot)
        await fill_form(pilot, DOCKER_FIELDS, {"name": name, "image": remote,
                                               "cmd": "sleep 600"}, {"start": 1})
        assert await until(pilot, lambda: notes.find(
            f"hostb/{name}: created (docker, running; image {remote}); the image was "
            "pulled"), 120), notes.items
        assert layered(seen, "pulling", remote), seen
        assert not isinstance(app.screen, PullScreen)
        assert lab.docker("hostb", "inspect", "-f", "{{.State.Running}}", name) == "true\n"
        # its row in the table, under the cursor
        assert await until(pilot, lambda: app.main.table.current_guest is not None
                           and app.main.table.current_guest.name == name, 30)
        assert app.main.table.current_guest.host == "hostb"


async def choose(pilot: Any, option: str) -> None:
    """In the ChoiceScreen on top: down until `option` is highlighted, then enter."""
    from textual.widgets import OptionList

    app: TuivirtApp = pilot.app
    assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
    options = app.screen.query_one(OptionList)
    for _ in range(options.option_count):
        highlighted = options.highlighted
        if highlighted is not None and options.get_option_at_index(highlighted).id == option:
            break
        await pilot.press("down")
    await pilot.press("enter")
