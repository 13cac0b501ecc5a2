"""Storage pools and volumes of a host: listing, the guests that use each volume, and
the changes (create, resize, delete a volume; start, stop, autostart, refresh a pool)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuivirt.errors import GuestError, HostError
from tuivirt.model import Pool, Volume
from tuivirt.session.core import SessionCore
from tuivirt.sizes import human_size

if TYPE_CHECKING:
    from tuivirt.backends.libvirt import LibvirtEndpoint

#: Formats a new volume may take (what qemu-img creates; libvirt checks the pool's own).
VOLUME_FORMATS = ("qcow2", "raw", "qed", "vmdk", "vdi", "vpc", "vhdx")
#: Formats that can sit over a backing file.
BACKED_FORMATS = ("qcow2", "qed", "vmdk")
POOL_ACTION_WORDS = {"start": "start", "stop": "stop", "autostart": "set autostart of",
                     "refresh": "refresh"}


def volume_name_problem(name: str) -> str | None:
    """Why `name` cannot name a new volume (a file in a dir pool), or None."""
    if not name or name in (".", ".."):
        return f"{name!r} is not a volume name"
    if "/" in name:
        return f"a volume name cannot hold '/': {name!r}"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return f"a volume name cannot hold control characters: {name!r}"
    return None


class Storage(SessionCore):
    """Pools and volumes, each on the libvirt connection that has the pool."""

    def _storage_endpoints(self) -> list[LibvirtEndpoint]:
        if not self.host.libvirt:
            raise HostError(self.name, "no libvirt connection on this host: no storage")
        if not self.libvirt:
            raise self._not_connected(self.host.libvirt[0])
        return list(self.libvirt)

    def pools(self) -> list[Pool]:
        """Every pool once (the QEMU and LXC drivers of one libvirtd share them)."""
        from tuivirt.backends.libvirt import storage

        seen: dict[str, Pool] = {}
        for endpoint in self._storage_endpoints():
            for pool in endpoint.call("list pools", storage.list_pools,
                                     self.name, endpoint.endpoint):
                seen.setdefault(pool.uuid, pool)
        return sorted(seen.values(), key=lambda p: p.name)

    def pool(self, name: str) -> tuple[Pool, LibvirtEndpoint]:
        """The pool of that name and the connection that has it; GuestError (missing)
        naming the pools there are when there is none."""
        from tuivirt.backends.libvirt import storage

        for endpoint in self._storage_endpoints():
            try:
                return (endpoint.call("pool", storage.lookup_pool, self.name,
                                     endpoint.endpoint, name), endpoint)
            except GuestError as exc:
                if not exc.missing:
                    raise
        known = ", ".join(p.name for p in self.pools()) or "none"
        raise GuestError(self.name, None, f"unknown pool {name!r} on {self.name} "
                         f"(pools: {known})", missing=True)

    def _guest_disks(self) -> list[tuple[str, list[str]]]:
        from tuivirt.backends.libvirt import storage

        domains: list[tuple[str, list[str]]] = []
        for endpoint in self._storage_endpoints():
            domains += endpoint.call("domain disks", storage.domain_definitions)
        return domains

    def volumes(self, pool_name: str) -> list[Volume]:
        """The pool's volumes, each with the guests (on every connection) that use it."""
        from tuivirt.backends.libvirt import storage

        pool, endpoint = self.pool(pool_name)
        found = endpoint.call("list volumes", storage.list_volumes, self.name,
                             pool.name)
        users = storage.volume_users(self._guest_disks(), pool.name,
                                     [(v.name, v.path) for v in found])
        return sorted((v if not users.get(v.name) else _with_users(v, users[v.name])
                       for v in found), key=lambda v: v.name)

    def volume(self, pool_name: str, name: str) -> tuple[Volume, LibvirtEndpoint]:
        """One volume with its users; GuestError (missing) when the pool has none such."""
        from tuivirt.backends.libvirt import storage

        pool, endpoint = self.pool(pool_name)
        try:
            volume = endpoint.call("volume", storage.lookup_volume, self.name,
                                  pool.name, name)
        except GuestError as exc:
            if exc.missing:
                raise GuestError(self.name, None, f"no volume {name!r} in pool "
                                 f"{pool.name} on {self.name}", missing=True) from None
            raise
        users = storage.volume_users(self._guest_disks(), pool.name,
                                     [(volume.name, volume.path)])
        return _with_users(volume, users.get(volume.name, ())), endpoint

    def create_volume(self, pool_name: str, name: str, capacity: int, fmt: str = "qcow2",
                      backing: str | None = None) -> Volume:
        """A new sparse volume; refused when the name is taken or the pool has no room."""
        from tuivirt.backends.libvirt import storage

        self._check_writable(f"create volume {name} in pool {pool_name}",
                             f"{pool_name}/{name}")
        problem = volume_name_problem(name)
        if problem is None and fmt not in VOLUME_FORMATS:
            problem = f"unknown format {fmt!r} (one of: {', '.join(VOLUME_FORMATS)})"
        if problem is None and backing is not None and fmt not in BACKED_FORMATS:
            problem = (f"a {fmt} volume cannot have a backing file (formats that can: "
                       f"{', '.join(BACKED_FORMATS)})")
        if problem is None and capacity <= 0:
            problem = "the size must be more than 0 bytes"
        if problem is not None:
            raise GuestError(self.name, f"{pool_name}/{name}", problem)
        pool, endpoint = self.pool(pool_name)
        if not pool.active:
            raise GuestError(self.name, pool.name, f"pool {pool.name} is not active: start "
                             "it first")
        try:  # one lookup, not a listing (a pool may hold thousands)
            endpoint.call("volume", storage.lookup_volume, self.name, pool.name,
                         name)
        except GuestError as exc:
            if not exc.missing:
                raise
        else:
            raise GuestError(self.name, f"{pool.name}/{name}", f"a volume named {name!r} "
                             f"already exists in pool {pool.name} on {self.name}")
        if capacity > pool.available:
            raise GuestError(self.name, f"{pool.name}/{name}", _no_room(pool, capacity))
        xml = storage.volume_xml(name, capacity, fmt, backing)
        return endpoint.call("create volume", storage.create_volume, self.name,
                            pool.name, xml)

    def resize_volume(self, pool_name: str, name: str, capacity: int, *,
                      shrink: bool = False) -> tuple[Volume, int]:
        """Grow (or with `shrink`, shrink) a volume; returns it and its old capacity."""
        from tuivirt.backends.libvirt import storage

        self._check_writable(f"resize volume {name} in pool {pool_name}",
                             f"{pool_name}/{name}")
        if capacity <= 0:
            raise GuestError(self.name, f"{pool_name}/{name}",
                             "the size must be more than 0 bytes")
        volume, endpoint = self.volume(pool_name, name)
        where = f"{volume.pool}/{volume.name}"
        if capacity < volume.capacity and not shrink:
            raise GuestError(self.name, where, f"{human_size(capacity)} is less than its "
                             f"{human_size(volume.capacity)}: shrinking loses what lies past "
                             "the new end; pass --shrink to do it anyway")
        pool, _endpoint = self.pool(volume.pool)
        if capacity - volume.capacity > pool.available:
            raise GuestError(self.name, where, _no_room(pool, capacity - volume.capacity,
                                                        "growing it by"))
        fresh = endpoint.call("resize volume", storage.resize_volume, self.name,
                             volume.pool, volume.name, capacity, capacity < volume.capacity)
        return fresh, volume.capacity

    def check_delete(self, volume: Volume) -> None:
        """Why `volume` (from `volume()`) cannot be deleted, raised: a read-only host,
        guests that use it, or volumes of its pool over it as their backing file (each
        named). For the CLI and UI to ask only when it can be done."""
        import os

        from tuivirt.backends.libvirt import storage

        where = f"{volume.pool}/{volume.name}"
        self._check_writable(f"delete volume {volume.name} in pool {volume.pool}", where)
        if volume.used_by:
            users = ", ".join(volume.used_by)
            theirs = "their definitions" if len(volume.used_by) > 1 else "its definition"
            raise GuestError(self.name, where, f"in use by {users}: remove it from {theirs} "
                             "first")
        pool, endpoint = self.pool(volume.pool)
        path = os.path.normpath(volume.path)
        overlays = [v.name for v in endpoint.call("list volumes",
                                                 storage.list_volumes, self.name, pool.name)
                    if v.backing and os.path.normpath(v.backing) == path]
        if overlays:
            many = len(overlays) > 1
            raise GuestError(self.name, where, f"the backing file of volume"
                             f"{'s' if many else ''} {', '.join(sorted(overlays))}: delete "
                             f"{'those' if many else 'that'} first")

    def delete_volume(self, volume: Volume) -> None:
        """Delete a volume (from `volume()`): refused while a guest uses it, asking the
        daemons again right before (a guest may have been given it meanwhile)."""
        from tuivirt.backends.libvirt import storage

        self.check_delete(volume)
        fresh, endpoint = self.volume(volume.pool, volume.name)
        self.check_delete(fresh)
        endpoint.call("delete volume", storage.delete_volume, self.name,
                     volume.pool, volume.name)

    def check_pool_action(self, pool_name: str, action: str) -> None:
        """A read-only host refuses every pool action (before a confirmation is asked)."""
        self._check_writable(f"{POOL_ACTION_WORDS[action]} pool {pool_name}", pool_name)

    def pool_action(self, pool_name: str, action: str, enable: bool = True) -> Pool:
        """start, stop, autostart (enable: on/off), refresh; returns the pool after."""
        from tuivirt.backends.libvirt import storage

        self.check_pool_action(pool_name, action)
        pool, endpoint = self.pool(pool_name)
        self._vm_offer_cache = None  # the new-VM form lists the active pools
        endpoint.call(f"pool {action}", storage.pool_action, self.name,
                     pool.name, action, enable)
        return endpoint.call("pool", storage.lookup_pool, self.name,
                            endpoint.endpoint, pool.name)


def _with_users(volume: Volume, users: tuple[str, ...]) -> Volume:
    from dataclasses import replace

    return replace(volume, used_by=users)


def _no_room(pool: Pool, size: int, what: str = "a volume of") -> str:
    return (f"not enough room: pool {pool.name} has {human_size(pool.available)} available;"
            f" {what} {human_size(size)} does not fit")
