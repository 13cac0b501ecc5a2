"""Making a VM on a host: what it offers (cached per connection), the checks, and the
steps (a new volume, define with libvirt's validation, start), undone when one fails."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tuivirt.errors import GuestError, HostError, TuivirtError
from tuivirt.session.definitions import Definitions
from tuivirt.session.storage import Storage

if TYPE_CHECKING:
    from tuivirt.backends.libvirt import LibvirtEndpoint
    from tuivirt.create.caps import HostOptions
    from tuivirt.create.vm import Plan, VMSpec
    from tuivirt.model import Guest, Volume


@dataclass(frozen=True, slots=True)
class Created:
    """What create_vm did (print_only: nothing; `guest` None, `xml` what it would define)."""
    xml: str
    notes: tuple[str, ...]
    guest: Guest | None = None
    volume: Volume | None = None  # the volume made for it
    started: bool = False


@dataclass(frozen=True, slots=True)
class Offer:
    """What the new-VM form offers on a host: its options, active pools and networks."""
    options: HostOptions
    pools: tuple[str, ...]
    networks: tuple[str, ...]
    read_at: float  # time.monotonic() when pools and networks were listed


class Creation(Definitions, Storage):
    """New VMs, on the host's QEMU connection."""

    #: (generation, connection object id) -> the options read on that connection.
    _vm_options_cache: tuple[tuple[int, int], HostOptions] | None = None

    def _qemu_endpoint(self) -> LibvirtEndpoint:
        if not self.host.libvirt:
            raise HostError(self.name, "no libvirt connection on this host: no VMs")
        if not self.libvirt:
            raise self._not_connected(self.host.libvirt[0])
        return self.libvirt_for_type("qemu")

    def vm_options(self, *, refresh: bool = False) -> HostOptions:
        """The architectures, machines, domain types and CPUs the host offers a new VM.

        Read once per connection (a reconnect asks again): ~10 ms per architecture.
        """
        from tuivirt.backends.libvirt import capabilities
        from tuivirt.create.caps import host_options

        endpoint = self._qemu_endpoint()
        key = (self._generation, id(endpoint.conn))
        cached = self._vm_options_cache
        if cached is not None and cached[0] == key and not refresh:
            return cached[1]
        caps, domain_caps = endpoint.call("capabilities", capabilities.fetch)
        options = host_options(self.name, caps, domain_caps)
        self._vm_options_cache = (key, options)
        return options

    def remembered_offer(self, max_age: float) -> Offer | None:
        """The offer read at most `max_age` seconds ago on this connection, or None.

        No daemon call: safe on the UI thread, so a warmed form opens without a hop
        through a worker thread."""
        cached = self._vm_offer_cache
        try:
            key = (self._generation, id(self._qemu_endpoint().conn))
        except TuivirtError:
            return None
        if (cached is None or cached[0] != key
                or time.monotonic() - cached[1].read_at > max_age):
            return None
        remembered: Offer = cached[1]
        return remembered

    def vm_offer(self, *, max_age: float = 0.0) -> Offer:
        """Options, active pools and networks for the new-VM form.

        Pools and networks listed at most `max_age` seconds ago on this connection are
        reused: the table warms this when `n` is pressed, so the form opens without a
        round trip. What the user then picks is checked again by check_vm, so a pool
        gone meanwhile is refused with its own message, never used blindly.
        """
        options = self.vm_options()
        key = (self._generation, id(self._qemu_endpoint().conn))
        cached = self._vm_offer_cache
        if (cached is not None and cached[0] == key
                and time.monotonic() - cached[1].read_at <= max_age):
            remembered: Offer = cached[1]
            return remembered
        offer = Offer(options=options,
                      pools=tuple(p.name for p in self.pools() if p.active),
                      networks=tuple(n.name for n in self.networks()),
                      read_at=time.monotonic())
        self._vm_offer_cache = (key, offer)
        return offer

    def _path_exists(self, path: str) -> bool | None:
        """Whether a path exists on the host itself (None: cannot be told from here)."""
        import os
        import shlex

        if self.tunnel is not None:
            status, _out, _err = self.tunnel.run(f"test -e {shlex.quote(path)}")
            return bool(status == 0)
        if not self._local:
            return None
        return bool(os.path.exists(path))

    def check_vm(self, spec: VMSpec) -> tuple[Plan, VMSpec, list[str]]:
        """Every check that needs no change: the plan, the spec with the formats of its
        volumes filled in, and notes. InvalidSpec says what is wrong."""
        from tuivirt.create.vm import InvalidSpec, NewVolume, PoolVolume, plan
        from tuivirt.session.storage import _no_room, volume_name_problem

        def refuse(problem: str) -> InvalidSpec:
            return InvalidSpec(self.name, spec.name or None, problem)

        chosen = plan(spec, self.vm_options())
        notes = list(chosen.notes)
        endpoint = self._qemu_endpoint()
        if any(g.name == spec.name for g in endpoint.list_guests()):
            raise refuse(f"a VM named {spec.name!r} already exists on {self.name}")
        paths = []
        if spec.kernel is not None:
            paths += [("kernel", spec.kernel.kernel)]
            if spec.kernel.initrd:
                paths += [("initrd", spec.kernel.initrd)]
        if isinstance(spec.disk, NewVolume) and spec.disk.backing:
            paths += [("backing image", spec.disk.backing)]
        if spec.disk is not None and not isinstance(spec.disk, (NewVolume, PoolVolume)):
            paths += [("disk image", spec.disk.path)]
        if spec.network is not None and spec.network.kind == "bridge":
            paths += [("bridge", f"/sys/class/net/{spec.network.source}/bridge")]
        for what, path in paths:
            if "\0" in path:
                raise refuse(f"{what} path holds a NUL character")
            found = self._path_exists(path)
            if found is False:
                if what == "bridge":
                    raise refuse(f"no bridge {spec.network.source!r} on "  # type: ignore[union-attr]
                                 f"{self.name}")
                raise refuse(f"{what} {path} does not exist on {self.name}")
            if found is None:
                notes.append(f"{what} {path}: not checked (no way to look at files on "
                             f"{self.name})")
        if spec.network is not None and spec.network.kind == "network":
            networks = {n.name: n for n in self.networks()}
            net = networks.get(spec.network.source)
            if net is None:
                raise refuse(f"no network {spec.network.source!r} on {self.name} "
                             f"(networks: {', '.join(sorted(networks)) or 'none'})")
            if not net.active:
                notes.append(f"network {net.name} is not active: start it before the VM")
        disk = spec.disk
        if isinstance(disk, PoolVolume):
            try:
                volume, _e = self.volume(disk.pool, disk.volume)
            except GuestError as exc:
                if exc.missing:
                    raise refuse(exc.message) from None
                raise
            spec = replace(spec, disk=replace(disk, format=disk.format or volume.format))
            if volume.used_by:
                notes.append(f"volume {disk.pool}/{disk.volume} is used by "
                             f"{', '.join(volume.used_by)} too")
        elif isinstance(disk, NewVolume):
            name = disk.volume_name(spec.name)
            problem = volume_name_problem(name)
            if problem:
                raise refuse(problem)
            try:
                pool, _e = self.pool(disk.pool)
            except GuestError as exc:
                if exc.missing:
                    raise refuse(exc.message) from None
                raise
            if not pool.active:
                raise refuse(f"pool {pool.name} is not active: start it first")
            try:
                self.volume(pool.name, name)
            except GuestError as exc:
                if not exc.missing:
                    raise
            else:
                raise refuse(f"a volume named {name!r} already exists in pool "
                             f"{pool.name} on {self.name}")
            if disk.size > pool.available:
                raise refuse(_no_room(pool, disk.size))
        return plan(spec, self.vm_options()), spec, notes

    def create_vm(self, spec: VMSpec, *, start: bool = False,
                  print_only: bool = False, xml: str | None = None) -> Created:
        """Check, make the new volume (if asked), define with validation, start (if
        asked). A failure after the volume was made removes it again (and a failed start
        the definition too) and says so; print_only changes nothing.

        `xml`: the definition to define instead of the one made from `spec` (the UI's
        editor pane: the generated one, reviewed and edited); the spec still says which
        volume to make and is checked the same way first.
        """
        import uuid

        from tuivirt.create.vm import NewVolume, definition

        if not print_only:
            self._check_writable(f"create VM {spec.name}", spec.name)
        chosen, spec, notes = self.check_vm(spec)
        virt_type = chosen.virt_type
        if xml is None:
            xml = definition(chosen, uuid=str(uuid.uuid4()))
        else:  # well-formed and a <domain>, before anything is made for it
            virt_type = self._document(xml, "domain", spec.name).get("type") or virt_type
        if print_only:
            return Created(xml=xml, notes=tuple(notes))
        endpoint = self.libvirt_for_type(virt_type)
        volume = None
        if isinstance(spec.disk, NewVolume):
            disk = spec.disk
            volume = self.create_volume(disk.pool, disk.volume_name(spec.name), disk.size,
                                        disk.format, disk.backing)
        try:
            guest = endpoint.define(xml)
        except TuivirtError as exc:
            raise self._undone(exc, "defining it failed", volume) from None
        self.inventory.upsert(guest)
        if not start:
            return Created(xml=xml, notes=tuple(notes), guest=guest, volume=volume)
        from tuivirt.actions import Action

        try:
            endpoint.perform(guest, Action.START)
        except TuivirtError as exc:
            undone = ["its definition was removed again"]
            try:
                endpoint.perform(guest, Action.UNDEFINE)
                self.inventory.remove_id(self.name, guest.id)
            except TuivirtError as again:
                undone = [f"its definition could not be removed ({again.message})"]
            raise self._undone(exc, "starting it failed", volume, undone) from None
        fresh = endpoint.lookup(guest.id) or guest
        self.inventory.upsert(fresh)
        return Created(xml=xml, notes=tuple(notes), guest=fresh, volume=volume,
                       started=True)

    def _undone(self, exc: TuivirtError, step: str, volume: Volume | None,
                undone: list[str] | None = None) -> GuestError:
        """The error of a failed step, saying what was removed again."""
        said = list(undone or [])
        if volume is not None:
            where = f"{volume.pool}/{volume.name}"
            try:
                fresh, _endpoint = self.volume(volume.pool, volume.name)
                self.delete_volume(fresh)
                said.append(f"the new volume {where} was removed")
            except TuivirtError as again:
                said.append(f"the new volume {where} could not be removed "
                            f"({again.message}): delete it with `tuivirt volume delete "
                            f"{self.name}/{where}`")
        tail = f" ({'; '.join(said)})" if said else ""
        guest = getattr(exc, "guest", None)
        return GuestError(self.name, guest, f"{step}: {exc.message}{tail}")
