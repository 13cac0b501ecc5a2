"""The storage view (`P`), driven by keys on the demo host (libvirt's test driver).

tuivirt/demo/node.xml holds a dir pool `default` with three volumes; db-primary's disk
uses db-primary.qcow2. Every outcome is checked on the driver itself (demo_conn), not
only on the screen.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.widgets import DataTable

from tests.ui.pilot import (
    DEMO_GUESTS,
    DEMO_SIZE,
    SPARE,
    Notes,
    demo_app,
    demo_conn,
    demo_ready,
    until,
)
from tuivirt.config import Config, HostConfig, demo_host
from tuivirt.errors import read_only_refusal
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import FormScreen
from tuivirt.ui.storage.screen import StorageScreen

GIB = 1024**3
DEMO_VOLUMES = ["base-debian12.qcow2", "db-primary.qcow2", "scratch.img"]


def volume_names(app: TuivirtApp, host: str = "demo") -> list[str]:
    """What the driver holds in pool `default` (as `virsh vol-list default` says)."""
    pool = demo_conn(app, host).storagePoolLookupByName("default")
    return sorted(v.name() for v in pool.listAllVolumes(0))


def table_text(screen: StorageScreen, table_id: str) -> list[str]:
    """Each row of one of the view's tables, its cells joined by spaces."""
    table = screen.query_one(f"#{table_id}", DataTable)
    return [" ".join(str(cell) for cell in table.get_row_at(row))
            for row in range(table.row_count)]


async def open_storage(pilot: Any, *, demo_hosts: bool = True) -> StorageScreen:
    """`P` from the table; the view once the pools and the first pool's volumes show."""
    app: TuivirtApp = pilot.app
    if demo_hosts:
        await demo_ready(pilot)
    else:  # the demo host's rows (and not the others')
        assert await until(pilot, lambda: len(app.main.table.guests) >= DEMO_GUESTS, 10)
    await pilot.press("P")
    assert await until(pilot, lambda: isinstance(app.screen, StorageScreen))
    screen = app.screen
    assert isinstance(screen, StorageScreen)
    assert await until(pilot, lambda: bool(screen.pools) and bool(screen.volumes), 10)
    return screen


async def to_volume(pilot: Any, screen: StorageScreen, name: str) -> None:
    """tab to the volumes, then j until the cursor is on `name`."""
    await pilot.press("tab")
    assert await until(pilot, lambda: screen.focused is screen.volume_table())
    for _ in range(len(screen.volumes)):
        volume = screen.current_volume
        if volume is not None and volume.name == name:
            return
        await pilot.press("j")
    assert screen.current_volume is not None and screen.current_volume.name == name


async def test_the_view_lists_the_pool_and_its_volumes_with_their_users() -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        screen = await open_storage(pilot)
        assert [(p.host, p.name, p.type, p.active) for p in screen.pools] == [
            ("demo", "default", "dir", True)]
        assert table_text(screen, "pools") == [
            "demo default dir active no 100 GiB 14.5 GiB 85.5 GiB"]
        assert table_text(screen, "volumes") == [
            "base-debian12.qcow2 qcow2 10 GiB 2 GiB -",
            "db-primary.qcow2 qcow2 40 GiB 12 GiB db-primary",
            "scratch.img raw 4 GiB 512 MiB -"]
        await pilot.press("q")
        assert await until(pilot, lambda: app.screen is app.main)


async def test_n_creates_a_volume_from_what_is_typed() -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        screen = await open_storage(pilot)
        # A taken name is refused before the daemon is asked, and the form comes back
        # with what was typed.
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press(*"scratch.img", "tab", *"2G", "enter")
        assert await until(pilot, lambda: notes.find(
            "not created: a volume named 'scratch.img' already exists in pool default",
            "error"))
        assert await until(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        assert isinstance(form, FormScreen)
        assert form.values()["name"] == "scratch.img" and form.values()["size"] == "2G"
        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen is screen)

        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press(*"new-disk.qcow2", "tab", *"2G", "enter")
        assert await until(pilot, lambda: notes.find(
            "demo/default/new-disk.qcow2: created (qcow2, 2 GiB)"))
        assert "new-disk.qcow2" in volume_names(app)
        volume = demo_conn(app).storagePoolLookupByName("default").storageVolLookupByName(
            "new-disk.qcow2")
        assert volume.info()[1] == 2 * GIB
        # It shows (sparse: nothing allocated yet), with the cursor on it.
        assert await until(pilot, lambda: "new-disk.qcow2 qcow2 2 GiB 0 B -"
                           in table_text(screen, "volumes"))
        assert screen.current_volume is not None
        assert screen.current_volume.name == "new-disk.qcow2"


async def test_delete_asks_for_the_name_and_removes_the_volume() -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        screen = await open_storage(pilot)
        await to_volume(pilot, screen, "scratch.img")
        await pilot.press("d")  # esc: nothing happens
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        assert await until(pilot, lambda: notes.find("cancelled: nothing was changed"))
        assert volume_names(app) == DEMO_VOLUMES
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.typed == "scratch.img"
        assert any("demo/default/scratch.img" in t for t in confirm.targets)
        # y alone does not do it: the name must be typed.
        await pilot.press(*"scratch", "enter")
        assert await until(pilot, lambda: notes.find("type scratch.img exactly to confirm"))
        assert "scratch.img" in volume_names(app)
        await pilot.press(*".img", "enter")
        assert await until(pilot, lambda: notes.find("demo/default/scratch.img: deleted"))
        assert volume_names(app) == ["base-debian12.qcow2", "db-primary.qcow2"]
        assert await until(pilot, lambda: [v.name for v in screen.volumes]
                           == ["base-debian12.qcow2", "db-primary.qcow2"])


async def test_delete_of_a_volume_in_use_is_refused_naming_its_guest() -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        screen = await open_storage(pilot)
        await to_volume(pilot, screen, "db-primary.qcow2")
        await pilot.press("D")
        assert await until(pilot, lambda: notes.find(
            "demo/default/db-primary.qcow2: not deleted: in use by db-primary: remove it "
            "from its definition first", "error"))
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)  # nothing to confirm
        assert volume_names(app) == DEMO_VOLUMES


async def test_a_read_only_host_refuses_every_change() -> None:
    app = demo_app(spare_read_only=True)
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        screen = await open_storage(pilot)
        assert await until(pilot, lambda: len(screen.pools) == 2)
        await pilot.press("j")  # spare/default
        assert await until(pilot, lambda: screen.current_pool is not None
                           and screen.current_pool.host == SPARE
                           and screen.volumes_of == (SPARE, "default")
                           and len(screen.volumes) == 3)
        refusals = {
            "n": "create a volume in pool default", "s": "start pool default",
            "S": "stop pool default", "a": "set autostart of pool default",
            "r": "refresh pool default"}
        for key, what in refusals.items():
            await pilot.press(key)
            assert await until(pilot, partial(notes.find, read_only_refusal(SPARE, what),
                                              "error")), key
        await to_volume(pilot, screen, "scratch.img")
        for key, what in {"R": "resize volume scratch.img in pool default",
                          "d": "delete volume scratch.img in pool default"}.items():
            await pilot.press(key)
            assert await until(pilot, partial(notes.find, read_only_refusal(SPARE, what),
                                              "error")), key
        await pilot.pause(0.2)
        assert app.screen is screen  # no form, no confirmation was offered
        pool = demo_conn(app, SPARE).storagePoolLookupByName("default")
        assert pool.isActive() and not pool.autostart()
        assert volume_names(app, SPARE) == DEMO_VOLUMES


async def test_pool_stop_asks_for_the_name_start_and_autostart() -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        screen = await open_storage(pilot)
        pool = demo_conn(app).storagePoolLookupByName("default")
        await pilot.press("S")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(*"default", "enter")
        assert await until(pilot, lambda: not pool.isActive())
        assert await until(pilot, lambda: notes.find("demo/default: stopped (now inactive"))
        assert await until(pilot, lambda: screen.volumes_note.startswith(
            "the pool is inactive") and not screen.volumes)
        await pilot.press("n")  # no volume in a stopped pool
        assert await until(pilot, lambda: notes.find(
            "pool default is not active: start it first (s)", "error"))
        await pilot.press("s")
        assert await until(pilot, lambda: bool(pool.isActive()))
        assert await until(pilot, lambda: len(screen.volumes) == 3)
        await pilot.press("a")
        assert await until(pilot, lambda: bool(pool.autostart()))
        assert await until(pilot, lambda: notes.find("demo/default: autostart on"))
        assert await until(pilot, lambda: " yes " in table_text(screen, "pools")[0])
        await pilot.press("r")
        assert await until(pilot, lambda: notes.find("demo/default: refreshed"))


async def test_resize_checks_the_size_and_shows_the_drivers_refusal() -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        screen = await open_storage(pilot)
        await to_volume(pilot, screen, "scratch.img")
        await pilot.press("R")
        assert await until(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press(*"1G", "enter")  # smaller, shrinking not allowed
        assert await until(pilot, lambda: notes.find(
            "not resized: 1 GiB is less than its 4 GiB", "error"))
        assert await until(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen is screen)
        # The test driver cannot resize: its own words reach the user.
        await pilot.press("R")
        assert await until(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press(*"8G", "enter")
        assert await until(pilot, lambda: notes.find(
            "demo/default/scratch.img: not resized: ", "error")
            and notes.find("virStorageVolResize", "error"))


async def test_a_host_that_fails_is_one_line_saying_so() -> None:
    config = Config(hosts=(demo_host(), HostConfig(
        name="broken", libvirt=("test:///nonexistent/node.xml",))))
    app = TuivirtApp(config)
    async with app.run_test(size=DEMO_SIZE) as pilot:
        screen = await open_storage(pilot, demo_hosts=False)
        assert await until(pilot, lambda: "broken" in screen.errors)
        text = str(screen.query_one("#host-errors").render())
        assert text.startswith("host broken: ") and text.endswith(
            "(its pools are not listed)"), text
        assert text.count("\n") == 0
        assert [p.host for p in screen.pools] == ["demo"]  # the others still show

