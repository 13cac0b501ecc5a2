"""The images view (`I`), hermetic: each host session's daemon calls are replaced by a small
in-memory daemon (`FakeImages`), while the session's own checks run for real (read-only,
"in use", which image a reference names, what a prune would free). The lab tests
(test_images_ui_lab.py) drive real dockerds and the lab's registry.

What the user sees is asserted: the rows of every host, the filter, each refusal's words,
the confirmations (typed name, the size a prune frees, the registry a push goes to), the
progress screen's bars, esc stopping a pull, the cursor on what was just made.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from textual.widgets import DataTable, Input, Static

from tests.ui.pilot import NOW, Notes, form, until
from tuivirt.config import Config, HostConfig
from tuivirt.create.container import PullProgress, PullStatus
from tuivirt.errors import HostError
from tuivirt.inventory import Diff
from tuivirt.model import Guest, GuestState, HostState, Image
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import FormScreen
from tuivirt.ui.create.form_screen import NewGuestForm
from tuivirt.ui.images.screen import ImagesScreen
from tuivirt.ui.images.transfer import TransferScreen
from tuivirt.ui.messages import InventoryChanged

SIZE = (140, 36)
MIB = 1024**2
HOSTILE = "evil\x1b[2J\x1b]52;c;eA==\x07"


def image(host: str, n: int, tags: tuple[str, ...], size: int = 5 * MIB,
          used_by: tuple[str, ...] = (), age: float = 3 * 3600) -> Image:
    return Image(host=host, id=f"sha256:{n:02d}" + "ab" * 31, tags=tags, size=size,
                 created=NOW - age, used_by=used_by)


class FakeTransfer:
    """A pull or push that sends the layer events of `script` then, with `hang`, waits
    for cancel() (as a slow registry does)."""

    def __init__(self, daemon: FakeImages, verb: str, image: str, hang: bool) -> None:
        self.daemon, self.verb, self.image, self.hang = daemon, verb, image, hang
        self.cancelled = threading.Event()

    def run(self, on_progress: Callable[[PullStatus], None]) -> PullStatus:
        from tuivirt.backends.docker_images import PushProgress
        from tuivirt.backends.docker_pull import PullCancelled

        progress = PushProgress(self.image) if self.verb == "push" else PullProgress(
            self.image)
        busy = "Pushing" if self.verb == "push" else "Downloading"
        finished = "Pushed" if self.verb == "push" else "Pull complete"
        status = progress.status()
        for event in ({"status": busy, "id": "aaaaaaaaaaaa",
                       "progressDetail": {"current": 2 * MIB, "total": 4 * MIB}},
                      {"status": finished, "id": "bbbbbbbbbbbb"}):
            status = progress.feed(event)
            on_progress(status)
        if self.hang:
            self.daemon.hanging.set()
            self.cancelled.wait(30)
            raise PullCancelled(self.image)
        if self.verb == "pull":
            self.daemon.add(image(self.daemon.host, 90, (self.image,)))
        return status

    def cancel(self) -> None:
        self.cancelled.set()


class FakeImages:
    """One host's dockerd, in memory, behind the real session's checks."""

    def __init__(self, app: TuivirtApp, host: str, images: list[Image]) -> None:
        self.host = host
        self.images = list(images)
        self.calls: list[str] = []
        self.lists = 0
        self.hang = False
        self.hanging = threading.Event()
        self.transfers: list[FakeTransfer] = []
        session = app.fleet.session(host)
        session.state = HostState.CONNECTED  # reachable
        session.images = self.list  # type: ignore[method-assign]
        session.remove_image = partial_remove(session, self)  # type: ignore[method-assign]
        session.tag_image = self.tag  # type: ignore[method-assign]
        session.prune_images = self.prune  # type: ignore[method-assign]
        session.image_transfer = self.transfer  # type: ignore[method-assign]

    def add(self, new: Image) -> None:
        self.images.append(new)

    def list(self) -> list[Image]:
        self.lists += 1
        if self.host == "broken":
            raise HostError(self.host, f"docker: {HOSTILE} not answering")
        return sorted(self.images, key=lambda i: (i.dangling, i.name))

    def tag(self, source: str, target: str) -> Image:
        self.calls.append(f"tag {source} {target}")
        old = next(i for i in self.images if source in (*i.tags, i.id))
        new = Image(old.host, old.id, tuple(sorted((*old.tags, target))), old.size,
                    old.created, old.used_by)
        self.images[self.images.index(old)] = new
        return new

    def prune(self) -> tuple[int, int]:
        gone = [i for i in self.images if i.dangling and not i.used_by]
        self.calls.append(f"prune {len(gone)}")
        self.images = [i for i in self.images if i not in gone]
        return len(gone), sum(i.size for i in gone)

    def transfer(self, verb: str, reference: str, registries: Any = ()) -> FakeTransfer:
        self.calls.append(f"{verb} {reference}")
        done = FakeTransfer(self, verb, reference, self.hang)
        self.transfers.append(done)
        return done


def partial_remove(session: Any, daemon: FakeImages) -> Callable[..., list[str]]:
    def remove_image(reference: str, *, force: bool = False) -> list[str]:
        found = session.check_remove_image(reference, force=force)  # the real checks
        daemon.calls.append(f"rm {reference}{' forced' if force else ''}")
        daemon.images.remove(found)
        return [f"untagged {reference}"]
    return remove_image


def images_config() -> Config:
    return Config(hosts=(
        HostConfig(name="local", docker="unix:///var/run/docker.sock"),
        HostConfig(name="prod", docker="unix:///run/prod.sock", read_only=True,
                   label="red"),
    ))


def images_app(extra: tuple[HostConfig, ...] = ()) -> tuple[TuivirtApp, dict[str, FakeImages]]:
    config = images_config()
    config = Config(hosts=config.hosts + extra)
    app = TuivirtApp(config, start_sessions=False, clock=lambda: NOW)
    daemons = {
        "local": FakeImages(app, "local", [
            image("local", 1, ("app:1", "app:latest"), 12 * MIB, ("web",)),
            image("local", 2, ("tiny:latest",), 2 * MIB, ("tinybox", "tinytty")),
            image("local", 3, (), 7 * MIB),  # dangling, nobody uses it
            image("local", 4, (), 3 * MIB, ("old-job",)),  # dangling but used
        ]),
        "prod": FakeImages(app, "prod", [image("prod", 5, ("payments:2",), 80 * MIB,
                                               ("payments",), age=86400 * 3)]),
    }
    for host in extra:
        daemons[host.name] = FakeImages(app, host.name, [])
    return app, daemons


async def open_images(pilot: Any) -> ImagesScreen:
    app: TuivirtApp = pilot.app
    await pilot.pause()
    await pilot.press("I")
    assert await until(pilot, lambda: isinstance(app.screen, ImagesScreen))
    screen = app.screen
    assert isinstance(screen, ImagesScreen)
    assert await until(pilot, lambda: {"local", "prod"} <= set(screen.images), 10)
    return screen


def cells(screen: ImagesScreen) -> list[list[str]]:
    table = screen.query_one("#images", DataTable)
    return [[str(c) for c in table.get_row_at(n)] for n in range(table.row_count)]


async def to_row(pilot: Any, screen: ImagesScreen, host: str, shown: str) -> None:
    """j or k until the cursor is on host's `shown` row, as a user would."""
    wanted = [(r.host, r.shown) for r in screen.rows].index((host, shown))
    for _ in range(len(screen.rows) + 1):
        row = screen.current_row
        if row is not None and (row.host, row.shown) == (host, shown):
            return
        await pilot.press("j" if screen.table().cursor_row < wanted else "k")
    raise AssertionError(f"no row {host}/{shown} in {[r.key for r in screen.rows]}")


def status_text(screen: ImagesScreen) -> str:
    return str(screen.query_one("#images-status", Static).render())


async def test_I_lists_every_hosts_images_one_row_per_tag() -> None:
    broken = HostConfig(name="broken", docker="unix:///run/broken.sock")
    app, _daemons = images_app((broken,))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_images(pilot)
        assert await until(pilot, lambda: "broken" in screen.errors)
        short = [f"{n:02d}" + "ab" * 5 for n in range(6)]
        assert cells(screen) == [
            ["local", "app:1", short[1], "12 MiB", "3 h ago", "1 (web)"],
            ["local", "app:latest", short[1], "12 MiB", "3 h ago", "1 (web)"],
            ["local", "tiny:latest", short[2], "2 MiB", "3 h ago", "2 (tinybox, tinytty)"],
            ["local", "<none>", short[3], "7 MiB", "3 h ago", "-"],
            ["local", "<none>", short[4], "3 MiB", "3 h ago", "1 (old-job)"],
            ["prod", "payments:2", short[5], "80 MiB", "3 d ago", "1 (payments)"],
        ]
        errors = str(screen.query_one("#host-errors", Static).render())
        # the daemon's words, made inert: no escape reaches the terminal
        assert "host broken: docker: evil" in errors and "\x1b" not in errors
        assert "its images are not listed" in errors
        assert status_text(screen).startswith("5 images on 2 hosts · p pull")


async def test_slash_filters_by_host_words_and_regex_esc_clears_then_goes_back() -> None:
    app, _daemons = images_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_images(pilot)
        await pilot.press("slash", *"host:prod")
        assert await until(pilot, lambda: [r.shown for r in screen.rows] == ["payments:2"])
        assert status_text(screen).startswith(
            "5 images on 2 hosts · 1 of 6 rows shown · filter: host:prod")
        box = screen.query_one("#image-filter", Input)
        await pilot.press(*["backspace"] * len(box.value), *"!^app used:web|tiny")
        assert await until(pilot, lambda: [r.shown for r in screen.rows] == ["tiny:latest"])
        await pilot.press("space", *"[")  # a broken regex: the last good filter stays
        assert await until(pilot, lambda: "filter error" in status_text(screen))
        assert [r.shown for r in screen.rows] == ["tiny:latest"]
        await pilot.press("enter")  # back to the table, the filter kept
        assert await until(pilot, lambda: app.focused is screen.table())
        await pilot.press("escape")  # clears the filter first
        assert await until(pilot, lambda: len(screen.rows) == 6)
        assert not box.display and app.focused is screen.table()
        await pilot.press("escape")  # then back to the guests
        assert await until(pilot, lambda: not isinstance(app.screen, ImagesScreen))


async def test_a_read_only_host_refuses_every_change_and_nothing_is_asked() -> None:
    app, daemons = images_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        screen = await open_images(pilot)
        await to_row(pilot, screen, "prod", "payments:2")
        lists = daemons["prod"].lists
        for key, what in (("p", "pull an image"), ("u", "push payments:2"),
                          ("t", "tag payments:2"), ("d", "remove image payments:2"),
                          ("D", "remove image payments:2"), ("X", "prune images"),
                          ("n", "run a container from payments:2"),
                          ("b", "build an image")):
            await pilot.press(key)
            assert await until(pilot, lambda what=what: notes.find(  # type: ignore[misc]
                f"host prod is read-only: refusing to {what}", "error")), (key, notes.items)
            assert app.screen is screen, key  # no form, no confirmation
        assert daemons["prod"].calls == [] and daemons["prod"].lists == lists


async def test_remove_is_refused_while_in_use_naming_who_then_forced_with_the_name_typed(
        ) -> None:
    app, daemons = images_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        screen = await open_images(pilot)
        await to_row(pilot, screen, "local", "tiny:latest")
        await pilot.press("d")
        assert await until(pilot, lambda: notes.find(
            "local/tiny:latest: not removed: in use by 2 container(s): tinybox, tinytty"))
        assert notes.find("D removes it anyway")
        assert app.screen is screen and daemons["local"].calls == []

        await pilot.press("D")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.title_text == "Remove 1 image (forced)?"
        assert "used by tinybox, tinytty (they stay" in confirm.targets[0]
        await pilot.press(*"tiny", "enter")  # not the whole name: refused
        assert await until(pilot, lambda: notes.find("type tiny:latest exactly"))
        await pilot.press(*":latest", "enter")
        assert await until(pilot, lambda: notes.find("local: untagged tiny:latest"))
        assert daemons["local"].calls == ["rm tiny:latest forced"]
        assert await until(pilot, lambda: "tiny:latest" not in [r.shown for r in screen.rows])


async def test_removing_one_of_two_tags_says_the_image_keeps_the_other() -> None:
    app, daemons = images_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        screen = await open_images(pilot)
        await to_row(pilot, screen, "local", "app:1")  # in use, but only a tag goes
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert "only this tag goes (it keeps app:latest)" in app.screen.targets[0]
        await pilot.press("escape")
        assert await until(pilot, lambda: notes.find("cancelled: nothing was changed"))
        assert daemons["local"].calls == []


async def test_prune_says_what_it_frees_before_it_prunes() -> None:
    app, daemons = images_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        screen = await open_images(pilot)
        await pilot.press("X")  # the cursor's host: local
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        # the dangling image in use (old-job's) is not counted
        assert confirm.title_text == ("Prune on local: 1 dangling image(s), up to 7 MiB "
                                      "would be freed?")
        assert confirm.targets == ["local/03ababababab (7 MiB)"]
        assert daemons["local"].calls == []  # nothing yet
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("local: pruned 1 image(s), 7 MiB freed"))
        assert await until(pilot, lambda: [r.image.short_id for r in screen.rows
                                           if r.tag is None] == ["04ababababab"])
        await pilot.press("X")  # nothing left to prune: said, no confirmation
        assert await until(pilot, lambda: notes.find(
            "local: no dangling images: nothing to prune"))
        assert app.screen is screen


async def test_pull_shows_a_bar_per_layer_then_selects_the_pulled_image() -> None:
    app, daemons = images_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        screen = await open_images(pilot)
        daemons["local"].hang = True
        await pilot.press("p")
        fields = await form(pilot)
        assert fields.values()["host"] == "local"  # the row's host; prod is read-only
        await pilot.press("tab", *"reg:5000/App:1", "enter")  # uppercase: not a name
        assert await until(pilot, lambda: notes.find("not pulled: tag reg:5000/App:1: "
                                                     "not a valid REPO:TAG"))
        fields = await form(pilot)  # back, with what was typed
        assert fields.values()["reference"] == "reg:5000/App:1"
        await pilot.press("tab", "end", *["backspace"] * 5, *"app:1", "enter")
        assert await until(pilot, lambda: isinstance(app.screen, TransferScreen))
        progress = app.screen
        assert await until(pilot, daemons["local"].hanging.is_set)

        def bars() -> str:
            return str(progress.query_one("#pull-layers", Static).render())

        assert await until(pilot, lambda: "aaaaaaaaaaaa" in bars())
        lines = bars().splitlines()
        assert lines[0].startswith("aaaaaaaaaaaa ━━━━━━━━━━━━────────────")  # half
        assert lines[0].endswith("downloading 2 MiB of 4 MiB")
        assert lines[1].startswith("bbbbbbbbbbbb") and " done" in lines[1]
        status = str(progress.query_one("#pull-status", Static).render())
        assert status == "pulling reg:5000/app:1: 1/2 layers, 2 MiB of 4 MiB"
        await pilot.press("escape")  # stops it
        assert await until(pilot, lambda: notes.find(
            "cancelled: the pull of reg:5000/app:1 on local was stopped"))
        assert daemons["local"].transfers[0].cancelled.is_set()
        assert app.screen is screen

        daemons["local"].hang = False
        await pilot.press("p")
        await form(pilot)
        await pilot.press("tab", *"reg:5000/app:1", "enter")
        assert await until(pilot, lambda: notes.find("local: pulled reg:5000/app:1"))
        assert await until(pilot, lambda: screen.current_row is not None
                           and screen.current_row.shown == "reg:5000/app:1")


async def test_push_names_the_registry_first_and_a_dangling_image_is_refused() -> None:
    app, daemons = images_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        screen = await open_images(pilot)
        await to_row(pilot, screen, "local", "<none> 03ababababab")
        await pilot.press("u")
        assert await until(pilot, lambda: notes.find("a dangling image has no name to "
                                                     "push under: t tags it first"))
        await to_row(pilot, screen, "local", "app:1")
        await pilot.press("t")
        await form(pilot)
        await pilot.press(*"10.77.0.2:5000/app:1", "enter")
        assert await until(pilot, lambda: notes.find(
            "local: app:1 tagged 10.77.0.2:5000/app:1 (01ababababab)"))
        assert await until(pilot, lambda: screen.current_row is not None
                           and screen.current_row.shown == "10.77.0.2:5000/app:1")
        await pilot.press("u")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.targets == ["local/10.77.0.2:5000/app:1 (01ababababab, 12 MiB) "
                                      "to 10.77.0.2:5000"]
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("local: pushed 10.77.0.2:5000/app:1"))
        assert daemons["local"].calls[-1] == "push 10.77.0.2:5000/app:1"


async def test_n_opens_the_new_container_form_with_the_image_filled_in() -> None:
    app, _daemons = images_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_images(pilot)
        await to_row(pilot, screen, "local", "tiny:latest")
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, NewGuestForm))
        new = app.screen
        assert isinstance(new, FormScreen)
        assert new.title_text == "New Docker container on local"
        assert new.values()["image"] == "tiny:latest"


async def test_a_container_made_or_removed_elsewhere_relists_the_images() -> None:
    app, daemons = images_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_images(pilot)
        before = daemons["local"].lists
        guest = Guest(host="local", kind="docker", name="new", id="c" * 64,
                      state=GuestState.RUNNING, image="tiny:latest")
        daemons["local"].images[1] = image("local", 2, ("tiny:latest",), 2 * MIB,
                                           ("new", "tinybox", "tinytty"))
        app.post_message(InventoryChanged(Diff(added=(guest,))))
        assert await until(pilot, lambda: daemons["local"].lists > before)
        assert await until(pilot, lambda: any(r.image.used_by[:1] == ("new",)
                                               for r in screen.rows))
        before = daemons["local"].lists
        app.post_message(InventoryChanged(Diff(changed=(guest,))))  # a state change
        await pilot.pause(0.3)
        assert daemons["local"].lists == before


async def test_a_hostile_tag_is_drawn_inert() -> None:
    app, daemons = images_app()
    daemons["local"].images.append(image("local", 7, (f"{HOSTILE}:1",), used_by=(HOSTILE,)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_images(pilot)
        row = next(n for n, r in enumerate(screen.rows) if r.image.id.startswith("sha256:07"))
        drawn = " ".join(cells(screen)[row])
        assert "\x1b" not in drawn and "\x07" not in drawn
        assert "evil" in drawn and "\\x1b" in drawn  # shown, escaped


async def test_b_builds_on_the_rows_host_and_selects_the_new_image() -> None:
    from tuivirt.backends.docker_build import Built
    from tuivirt.ui.images.build import BuildScreen

    app, daemons = images_app()
    built_id = "sha256:" + "b1" * 32

    def build_image(directory: str, tag: str, *, no_cache: bool = False,
                    on_line: Any = None, on_build: Any = None) -> Built:
        daemons["local"].add(Image("local", built_id, (tag,), 6 * MIB, NOW))
        return Built(tag, built_id, 3, 1, 0.4, 2048)

    app.fleet.session("local").build_image = build_image  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_images(pilot)
        await to_row(pilot, screen, "local", "tiny:latest")
        await pilot.press("b")
        build_form = await form(pilot)
        assert build_form.title_text == "Build an image on local"
        await pilot.press(*"/srv/web", "tab", *"web:1", "enter")
        assert await until(pilot, lambda: isinstance(app.screen, BuildScreen))
        assert await until(pilot, lambda: isinstance(app.screen, BuildScreen)
                           and app.screen.built is not None)
        await pilot.press("escape")  # back, with the new image under the cursor
        assert await until(pilot, lambda: screen.current_row is not None
                           and screen.current_row.shown == "web:1")
