"""What the storage view changes: volumes created, resized, deleted; pools started,
stopped, set to autostart, refreshed. Each on a thread (ThreadJobs), its outcome one
notification, then the view reloads; a read-only host refuses first, as everywhere."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from tuivirt.config import Config
from tuivirt.errors import read_only_refusal
from tuivirt.model import Pool, Volume
from tuivirt.session.storage import POOL_ACTION_WORDS
from tuivirt.sizes import human_size
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import FormScreen
from tuivirt.ui.common.workers import ThreadJobs
from tuivirt.ui.storage import forms

if TYPE_CHECKING:
    from tuivirt.ui.common.fleet_screen import FleetScreen

    class _Base(FleetScreen, ThreadJobs):
        """What the mixin runs on: the storage screen."""
else:
    _Base = ThreadJobs

PoolKey = tuple[str, str]  # host, pool name


class StorageChanges(_Base):
    """Mixed into StorageScreen, which provides the view's state and `action_reload`."""

    config: Config
    volumes: list[Volume]
    volumes_of: PoolKey | None
    volumes_note: str
    _select_volume: str | None

    @property
    def current_pool(self) -> Pool | None:
        raise NotImplementedError

    @property
    def current_volume(self) -> Volume | None:
        raise NotImplementedError

    def action_reload(self) -> None:
        raise NotImplementedError

    def _refused(self, host: str, what: str) -> bool:
        """A read-only host refuses (told, as everywhere); True when it did."""
        if self.read_only(host):
            self.notify(read_only_refusal(host, what), severity="error", timeout=6)
            return True
        return False

    def _pool_or_say(self) -> Pool | None:
        pool = self.current_pool
        if pool is None:
            self.notify("no storage pool under the cursor", severity="warning")
        return pool

    def _volume_or_say(self) -> Volume | None:
        volume = self.current_volume
        if volume is None:
            self.notify("no volume under the cursor" + (
                f" ({self.volumes_note})" if self.volumes_note else ""), severity="warning")
        return volume

    def _cancelled(self) -> None:
        self.notify("cancelled: nothing was changed", timeout=4)

    def _run(self, job: Callable[[], Any], done: Callable[[Any], str], what: str) -> None:
        """A change on a thread; its outcome a notification; then what is, shown."""

        def succeeded(result: Any) -> None:
            self.notify(done(result), timeout=5)
            self.action_reload()

        def failed(error: BaseException) -> None:
            self.job_failed(what, error)
            self.action_reload()  # it may have half happened: show what is

        self.in_thread(job, succeeded, what=what, group="storage-changes", failed=failed)

    def action_pool(self, action: str) -> None:
        pool = self._pool_or_say()
        if pool is None or self._refused(pool.host, f"{POOL_ACTION_WORDS[action]} pool "
                                                     f"{pool.name}"):
            return
        if action == "stop":
            self.app.push_screen(ConfirmScreen(
                "Stop 1 storage pool?", [f"{pool.host}/{pool.name}  ({pool.type}, "
                                         f"{pool.path or '-'}): its volumes are unavailable "
                                         "until it starts again"],
                typed=pool.name, confirm_label="Stop"),
                lambda ok: self._pool_action(pool, action) if ok else self._cancelled())
        else:
            self._pool_action(pool, action)

    def _pool_action(self, pool: Pool, action: str) -> None:
        session = self.fleet.session(pool.host)
        enable = not pool.autostart
        words = {"start": "started", "stop": "stopped", "refresh": "refreshed",
                 "autostart": f"autostart {'on' if enable else 'off'}"}[action]

        def done(after: Pool) -> str:
            state = "active" if after.active else "inactive"
            return (f"{pool.host}/{pool.name}: {words} (now {state}, "
                    f"{human_size(after.available)} available)")

        self._run(partial(session.pool_action, pool.name, action, enable), done,
                  f"{pool.host}/{pool.name}: {action} failed")

    def action_new_volume(self, values: dict[str, str] | None = None) -> None:
        pool = self._pool_or_say()
        if pool is None or self._refused(pool.host, f"create a volume in pool {pool.name}"):
            return
        if not pool.active:
            self.notify(f"pool {pool.name} is not active: start it first (s)",
                        severity="error", timeout=6)
            return
        self.app.push_screen(
            FormScreen(f"New volume in {pool.host}/{pool.name}",
                       forms.new_volume_fields(values), ok_label="Create",
                       note=f"{human_size(pool.available)} available; the volume is "
                            "sparse"),
            partial(self._create, pool))

    def _create(self, pool: Pool, values: dict[str, str] | None) -> None:
        if values is None:
            return
        volumes = self.volumes if self.volumes_of == (pool.host, pool.name) else []
        new = forms.parse_new_volume(values, pool, volumes)
        if isinstance(new, str):
            self.notify(f"not created: {new}", severity="error", timeout=8)
            self.action_new_volume(values)  # the form again, with what was typed
            return
        session = self.fleet.session(pool.host)

        def done(volume: Volume) -> str:
            self._select_volume = volume.name  # the cursor goes there once it shows
            backing = f", backed by {volume.backing}" if volume.backing else ""
            return (f"{pool.host}/{volume.pool}/{volume.name}: created "
                    f"({volume.format or '-'}, {human_size(volume.capacity)}{backing})")

        self._run(partial(session.create_volume, pool.name, new.name, new.capacity,
                          new.format, new.backing), done,
                  f"{pool.host}/{pool.name}/{new.name}: not created")

    def action_resize(self, values: dict[str, str] | None = None) -> None:
        volume = self._volume_or_say()
        if volume is None or self._refused(volume.host, f"resize volume {volume.name} in "
                                                        f"pool {volume.pool}"):
            return
        self.app.push_screen(
            FormScreen(f"Resize {volume.host}/{volume.pool}/{volume.name}",
                       forms.resize_fields(volume, values), ok_label="Resize"),
            partial(self._resize, volume))

    def _resize(self, volume: Volume, values: dict[str, str] | None) -> None:
        if values is None:
            return
        parsed = forms.parse_resize(values, volume)
        if isinstance(parsed, str):
            self.notify(f"not resized: {parsed}", severity="error", timeout=8)
            self.action_resize(values)
            return
        capacity, shrink = parsed
        session = self.fleet.session(volume.host)
        where = f"{volume.host}/{volume.pool}/{volume.name}"

        def done(result: tuple[Volume, int]) -> str:
            after, before = result
            return (f"{where}: resized from {human_size(before)} to "
                    f"{human_size(after.capacity)}")

        self._run(partial(session.resize_volume, volume.pool, volume.name, capacity,
                          shrink=shrink), done, f"{where}: not resized")

    def action_delete(self) -> None:
        volume = self._volume_or_say()
        if volume is None or self._refused(volume.host, f"delete volume {volume.name} in "
                                                        f"pool {volume.pool}"):
            return
        session = self.fleet.session(volume.host)
        where = f"{volume.host}/{volume.pool}/{volume.name}"

        def check() -> Volume:
            """Asked afresh: a guest may have been given the volume since it was listed."""
            fresh, _endpoint = session.volume(volume.pool, volume.name)
            session.check_delete(fresh)  # in use, a backing file: refused, named
            return fresh

        def ask(fresh: Volume) -> None:
            self.app.push_screen(ConfirmScreen(
                "Delete 1 volume?", [f"{where}  ({fresh.format or '-'}, "
                                     f"{human_size(fresh.capacity)}) {fresh.path}"],
                typed=fresh.name, confirm_label="Delete"),
                lambda ok: self._delete(fresh) if ok else self._cancelled())

        self.in_thread(check, ask, what=f"{where}: not deleted", group="storage-changes")

    def _delete(self, volume: Volume) -> None:
        session = self.fleet.session(volume.host)
        where = f"{volume.host}/{volume.pool}/{volume.name}"
        self._run(partial(session.delete_volume, volume), lambda _: f"{where}: deleted",
                  f"{where}: not deleted")
