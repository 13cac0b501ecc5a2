"""The storage view (`P`) against the lab: a volume created and deleted on hostb's `tvlab`
pool through the keys (over SSH), each step checked with virsh on hostb."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import Lab
from tests.ui.pilot import Notes, make_app, ready, until
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import FormScreen
from tuivirt.ui.storage.screen import StorageScreen

pytestmark = pytest.mark.lab

POOL = "tvlab"
MIB = 1024**2


def vol_names(lab: Lab, host: str) -> list[str]:
    return [line.split()[0] for line in lab.virsh(host, "vol-list", POOL).splitlines()
            if line.strip()]


@pytest.fixture()
def volume(lab: Lab) -> Iterator[str]:
    """A fresh tvtest-vol-<hex> name on hostb; deleted afterwards if it is still there."""
    name = f"tvtest-vol-{uuid.uuid4().hex[:8]}.qcow2"
    yield name
    lab.virsh("hostb", "vol-delete", "--pool", POOL, name, check=False)


async def test_create_and_delete_a_volume_on_hostb_by_keys(lab: Lab, state_home: object,
                                                           volume: str) -> None:
    app = make_app(lab)
    async with app.run_test(size=(140, 40)) as pilot:
        notes = Notes(app)
        await ready(pilot)
        await pilot.press("P")
        assert await until(pilot, lambda: isinstance(app.screen, StorageScreen))
        screen = app.screen
        assert isinstance(screen, StorageScreen)
        assert await until(pilot, lambda: ("hostb", POOL) in {
            (p.host, p.name) for p in screen.pools})
        for _ in range(2 * len(screen.pools)):  # j or k, as a user would
            pool = screen.current_pool
            if pool is not None and (pool.host, pool.name) == ("hostb", POOL):
                break
            target = [(p.host, p.name) for p in screen.pools].index(("hostb", POOL))
            await pilot.press("j" if screen.pool_table().cursor_row < target else "k")
        assert await until(pilot, lambda: screen.volumes_of == ("hostb", POOL)
                           and not screen.volumes_note), (
            screen.current_pool, screen.volumes_of, screen.volumes_note,
            [(p.host, p.name) for p in screen.pools])

        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press(*volume, "tab", *"16M", "enter")
        assert await until(pilot, lambda: notes.find(
            f"hostb/{POOL}/{volume}: created (qcow2, 16 MiB)"), 60), notes.items
        assert volume in vol_names(lab, "hostb")
        assert f"<capacity unit='bytes'>{16 * MIB}<" in lab.virsh(
            "hostb", "vol-dumpxml", "--pool", POOL, volume)
        assert await until(pilot, lambda: screen.current_volume is not None
                           and screen.current_volume.name == volume)

        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 60)
        await pilot.press(*volume, "enter")
        assert await until(pilot, lambda: notes.find(f"hostb/{POOL}/{volume}: deleted"),
                           60), notes.items
        assert volume not in vol_names(lab, "hostb")
        assert await until(pilot, lambda: volume not in [v.name for v in screen.volumes])
