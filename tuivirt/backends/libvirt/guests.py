"""Domains on a libvirt connection: listing and CPU times, lifecycle actions, their
definitions (XML) and console streams."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import libvirt

from tuivirt.actions import Action
from tuivirt.backends.domxml import domain_kind_and_arch
from tuivirt.backends.libvirt.connection import (
    LibvirtConnection,
    is_no_domain,
    message,
    unsupported,
    using,
)
from tuivirt.errors import ConsoleBusy, GuestError
from tuivirt.model import Guest, GuestState

_STATES: dict[int, GuestState] = {
    libvirt.VIR_DOMAIN_NOSTATE: GuestState.UNKNOWN,
    libvirt.VIR_DOMAIN_RUNNING: GuestState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: GuestState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: GuestState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: GuestState.STOPPING,
    libvirt.VIR_DOMAIN_SHUTOFF: GuestState.SHUTOFF,
    libvirt.VIR_DOMAIN_CRASHED: GuestState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: GuestState.SUSPENDED,
}
_DETAIL = {libvirt.VIR_DOMAIN_BLOCKED: "blocked", libvirt.VIR_DOMAIN_SHUTDOWN: "shutting down"}


def _undefine(dom: libvirt.virDomain) -> None:
    # Keep NVRAM (it is the guest's data); drop metadata that would block the undefine.
    flags = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
             | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
             | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)
    try:
        dom.undefineFlags(flags)
    except libvirt.libvirtError as exc:
        if not unsupported(exc):
            raise
        dom.undefine()


#: Each lifecycle action as a call on the domain (the bool: autostart on or off).
_DOMAIN_CALLS: dict[Action, Callable[[libvirt.virDomain, bool], object]] = {
    Action.START: lambda dom, _on: dom.create(),
    Action.SHUTDOWN: lambda dom, _on: dom.shutdown(),
    Action.REBOOT: lambda dom, _on: dom.reboot(0),
    Action.DESTROY: lambda dom, _on: dom.destroy(),
    Action.SUSPEND: lambda dom, _on: dom.suspend(),
    Action.RESUME: lambda dom, _on: dom.resume(),
    Action.AUTOSTART: lambda dom, on: dom.setAutostart(1 if on else 0),
    Action.UNDEFINE: lambda dom, _on: _undefine(dom),
}


class GuestCalls(LibvirtConnection):
    """The domain calls of a libvirt endpoint."""

    # -- listing ------------------------------------------------------------------------
    def _record(self, dom: libvirt.virDomain, *, autostart: bool | None = None,
                persistent: bool | None = None) -> Guest:
        uuid = dom.UUIDString()
        facts = self._fixed_facts or self._facts.get(uuid)
        if facts is None:
            facts = domain_kind_and_arch(dom.XMLDesc(0))
            self._facts[uuid] = facts
        state, max_mem_kib, _mem, vcpus, cpu_time = dom.info()
        if autostart is None:
            autostart = bool(dom.autostart())
        if persistent is None:
            persistent = bool(dom.isPersistent())
        return Guest(
            host=self.host, kind=facts[0], name=dom.name(), id=uuid,
            state=_STATES.get(state, GuestState.UNKNOWN), state_detail=_DETAIL.get(state, ""),
            vcpus=vcpus, memory_mib=max_mem_kib // 1024, autostart=autostart,
            persistent=persistent, arch=facts[1], endpoint=self.endpoint,
            cpu_time_ns=cpu_time,
        )

    @using
    def list_guests(self) -> list[Guest]:
        conn = self._require()
        try:
            domains = conn.listAllDomains(0)
            # Two cheap listings instead of 2N calls: matters over a remote link.
            autostart = {d.UUIDString() for d in conn.listAllDomains(
                libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)}
            transient = {d.UUIDString() for d in conn.listAllDomains(
                libvirt.VIR_CONNECT_LIST_DOMAINS_TRANSIENT)}
        except libvirt.libvirtError as exc:
            raise self._host_error(exc) from None
        guests = []
        for dom in domains:
            uuid = dom.UUIDString()
            try:
                guests.append(self._record(dom, autostart=uuid in autostart,
                                           persistent=uuid not in transient))
            except libvirt.libvirtError as exc:
                if not is_no_domain(exc):  # vanished while we listed: skip it
                    raise self._host_error(exc) from None
        return guests

    @using
    def lookup(self, uuid: str, *, refresh_facts: bool = False) -> Guest | None:
        """The guest's current record, or None when it no longer exists."""
        conn = self._require()
        if refresh_facts:
            self._facts.pop(uuid, None)
        try:
            return self._record(conn.lookupByUUIDString(uuid))
        except libvirt.libvirtError as exc:
            if is_no_domain(exc):
                self._facts.pop(uuid, None)
                return None
            raise self._host_error(exc) from None

    @using
    def cpu_times(self) -> dict[str, int] | None:
        """uuid -> cumulated CPU time (ns) of every running domain, in one call.

        None when the driver keeps no such statistics (the test driver): stop asking.
        """
        conn = self._require()
        if not conn.isAlive():
            return {}
        try:
            stats = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_CPU_TOTAL,
                                           libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING)
        except libvirt.libvirtError as exc:
            if unsupported(exc):
                return None
            raise self._host_error(exc) from None
        times = {dom.UUIDString(): int(values["cpu.time"]) for dom, values in stats
                 if "cpu.time" in values}
        return None if stats and not times else times

    # -- actions ------------------------------------------------------------------------
    def _domain(self, guest: Guest) -> libvirt.virDomain:
        conn = self._require()
        try:
            return conn.lookupByUUIDString(guest.id)
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, guest.name, message(exc)) from None

    @using
    def perform(self, guest: Guest, action: Action, enable: bool = True) -> None:
        dom = self._domain(guest)
        try:
            _DOMAIN_CALLS[action](dom, enable)
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, guest.name, message(exc)) from None

    # -- XML ----------------------------------------------------------------------------
    def dumpxml(self, guest: Guest, *, inactive: bool = False) -> str:
        return self.xml_by_uuid(guest.id, guest.name, inactive=inactive)

    @using
    def xml_by_uuid(self, uuid: str, name: str, *, inactive: bool = False) -> str:
        conn = self._require()
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        try:
            return str(conn.lookupByUUIDString(uuid).XMLDesc(flags))
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, name, message(exc),
                             missing=is_no_domain(exc)) from None

    @using
    def define(self, xml: str) -> Guest:
        """Define (or redefine) a domain, with libvirt's schema validation."""
        conn = self._require()
        try:
            dom = conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, None, message(exc)) from None
        self._facts.pop(dom.UUIDString(), None)
        return self._record(dom)

    @using
    def xml_from_native(self, native_format: str, config: str) -> str:
        """A domain definition converted from a native config (e.g. "lxc-tools")."""
        conn = self._require()
        try:
            return str(conn.domainXMLFromNative(native_format, config, 0))
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, None, message(exc)) from None

    # -- console ------------------------------------------------------------------------
    @using
    def open_console(self, guest: Guest, *, force: bool = False) -> Any:
        """A non-blocking stream on the guest's first console (read on the event loop).

        Busy (another client holds it): ConsoleBusy. With force, a driver that refuses
        the flag (LXC) is asked again without it.
        """
        conn = self._require()
        if not self.streams_ready:
            raise GuestError(self.host, guest.name, "this connection was opened before "
                             "libvirt's event loop: it cannot carry a console")
        dom = self._domain(guest)
        flags = libvirt.VIR_DOMAIN_CONSOLE_FORCE if force else 0
        while True:
            stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
            try:
                dom.openConsole(None, stream, flags)
                return stream
            except libvirt.libvirtError as exc:
                with contextlib.suppress(libvirt.libvirtError):
                    stream.abort()
                if flags and unsupported(exc):
                    flags = 0  # the driver has no forced takeover: plain open
                    continue
                text = message(exc)
                if "active console session" in text.lower():  # QEMU's words
                    raise ConsoleBusy(self.host, guest.name, text) from None
                raise GuestError(self.host, guest.name, text,
                                 missing=is_no_domain(exc)) from None
