"""libvirt backend: one connection per URI, turned into our records and our one error type."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from typing import Any, ClassVar, ParamSpec, TypeVar

import libvirt

from tuivirt.actions import Action
from tuivirt.backends.deadline import Deadline, bounded
from tuivirt.backends.domxml import domain_kind_and_arch, network_bridge, network_ranges
from tuivirt.errors import ConsoleBusy, GuestError, HostError
from tuivirt.model import Guest, GuestState, Network, version_string

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

EVENT_NAMES = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: "defined",
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_DOMAIN_EVENT_STARTED: "started",
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: "suspended",
    libvirt.VIR_DOMAIN_EVENT_RESUMED: "resumed",
    libvirt.VIR_DOMAIN_EVENT_STOPPED: "stopped",
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "pmsuspended",
    libvirt.VIR_DOMAIN_EVENT_CRASHED: "crashed",
}
CLOSE_REASONS = {
    libvirt.VIR_CONNECT_CLOSE_REASON_ERROR: "connection error",
    libvirt.VIR_CONNECT_CLOSE_REASON_EOF: "the daemon closed the connection",
    libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE: "keepalive timed out (host not answering)",
    libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT: "closed by us",
}

#: (uuid, name, event name) -> None; called on the libvirt event-loop thread: post only.
DomainEventCallback = Callable[[str, str, str], None]
#: reason -> None; the connection closed under us.
CloseCallback = Callable[[str], None]

P = ParamSpec("P")
R = TypeVar("R")

_loop_lock = threading.Lock()
_loop_thread: threading.Thread | None = None


def _ignore_error(_ctx: object, _err: object) -> None:
    """libvirt prints every error on stderr by default; ours go through GuestError."""


libvirt.registerErrorHandler(_ignore_error, None)


def ensure_event_loop() -> None:
    """Register libvirt's default event loop once per process and run it in a daemon thread.

    Needed for domain events, keepalive and console streams. Must run before the first
    connection that wants events is opened.
    """
    global _loop_thread
    with _loop_lock:
        if _loop_thread is not None:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        _loop_thread = threading.Thread(target=run, name="libvirt-events", daemon=True)
        _loop_thread.start()


def event_loop_running() -> bool:
    """Whether this process runs libvirt's event loop (consoles and close callbacks)."""
    return _loop_thread is not None


def _message(exc: libvirt.libvirtError) -> str:
    return str(exc.get_error_message() or exc)


def is_no_domain(exc: libvirt.libvirtError) -> bool:
    return bool(exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN)


def _counted(method: Callable[P, R]) -> Callable[P, R]:
    """Count the call as a user of the connection, so close() never frees it mid-call."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        endpoint = args[0]
        assert isinstance(endpoint, LibvirtEndpoint)
        endpoint._enter()
        try:
            return method(*args, **kwargs)
        finally:
            endpoint._leave()

    return wrapper


def _using(method: Callable[P, R]) -> Callable[P, R]:
    """A call on the connection: counted, and bounded by the endpoint's deadline (a hung
    daemon answers nothing, for ever)."""
    return bounded(_counted(method))


def _undefine(dom: libvirt.virDomain) -> None:
    # Keep NVRAM (it is the guest's data); drop metadata that would block the undefine.
    flags = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
             | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
             | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)
    try:
        dom.undefineFlags(flags)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() not in (libvirt.VIR_ERR_NO_SUPPORT,
                                        libvirt.VIR_ERR_INVALID_ARG):
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


class LibvirtEndpoint:
    """A connection to one libvirt URI of a host.

    Thread-safe to close: closing a virConnect while another thread is inside a call on
    it crashed the process (SIGSEGV, seen when a host died under a CPU sample). So every
    call counts itself in, and the last one out does the close that was asked for.
    """

    has_definitions: ClassVar[bool] = True
    has_networks: ClassVar[bool] = True

    def __init__(self, host: str, uri: str, *, display_uri: str | None = None,
                 read_only: bool = False, deadline: Deadline | None = None) -> None:
        self.host = host
        self.deadline = deadline
        self.uri = uri  # what we open (maybe a forwarded socket)
        self.endpoint = display_uri or uri  # what the user configured
        self.read_only = read_only
        self.conn: libvirt.virConnect | None = None
        self.driver = ""
        self.streams_ready = False
        self._facts: dict[str, tuple[str, str | None]] = {}  # uuid -> (kind, arch)
        # A driver that runs one domain type on the host's arch needs no XML per domain.
        self._fixed_facts: tuple[str, str | None] | None = None
        self._callback_ids: list[int] = []
        self._network_callback_ids: list[int] = []
        self._close_registered = False
        self._users = 0
        self._closing = False
        self._users_lock = threading.Lock()
        self._discarded = False  # closed before an open that outlived its deadline returned

    def _enter(self) -> None:
        with self._users_lock:
            if self._closing or self.conn is None:
                raise HostError(self.host, f"{self.endpoint}: not connected")
            self._users += 1

    def _leave(self) -> None:
        with self._users_lock:
            self._users -= 1
            last = self._closing and self._users == 0
        if last:
            self._close_now()

    # -- connection ---------------------------------------------------------------------
    def open(self, *, events: bool = False) -> None:
        """Connect. With events, libvirt's event loop must exist before the connection does.

        Bounded by the deadline: opening a connection to a hung daemon never returns.
        """
        if events:
            ensure_event_loop()
        if self.deadline is None:
            self._open()
        else:
            self.deadline.run("open", self._open)

    def _open(self) -> None:
        # Streams (consoles) need the loop to exist before the connection does.
        self.streams_ready = _loop_thread is not None
        try:
            opener = libvirt.openReadOnly if self.read_only else libvirt.open
            self._closing = False
            conn = opener(self.uri)
            if self._discarded:  # given up on while it opened: nobody will close it
                with contextlib.suppress(libvirt.libvirtError):
                    conn.close()
                raise HostError(self.host, f"{self.endpoint}: opened too late")
            self.conn = conn
            self.driver = self.conn.getType()
            if self.driver == "LXC":  # containers: one type, the host's own arch
                self._fixed_facts = ("lxc", self._host_arch())
        except libvirt.libvirtError as exc:
            self.conn = None
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None

    def _host_arch(self) -> str | None:
        import re

        try:
            caps = self._require().getCapabilities()
        except libvirt.libvirtError:
            return None
        match = re.search(r"<host>.*?<arch>([^<]+)</arch>", caps, re.S)
        return match[1] if match else None

    @_using
    def watch(self, on_event: DomainEventCallback, on_close: CloseCallback,
              on_network_event: Callable[[str], None] | None = None,
              keepalive: tuple[int, int] | None = (5, 3)) -> None:
        """Subscribe to lifecycle events and the close callback (needs the event loop).

        keepalive None turns libvirt's keepalive off: for a connection carried by our SSH
        tunnel, whose own keepalive notices a dead link and closes the socket (a clean
        EOF). libvirt 9.0's client crashed (SIGSEGV in its IO loop) when its keepalive
        timed out while another call was in flight.
        """
        conn = self._require()
        ensure_event_loop()

        def lifecycle(_c: Any, dom: Any, event: int, _detail: int, _o: Any) -> None:
            on_event(dom.UUIDString(), dom.name(), EVENT_NAMES.get(event, str(event)))

        def closed(_c: Any, reason: int, _o: Any) -> None:
            on_close(CLOSE_REASONS.get(reason, f"closed (reason {reason})"))

        try:
            self._callback_ids.append(conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None))
            if on_network_event is not None:
                def network(_c: Any, net: Any, _event: int, _detail: int, _o: Any) -> None:
                    on_network_event(net.name())

                with contextlib.suppress(libvirt.libvirtError):  # not every driver has networks
                    self._network_callback_ids.append(conn.networkEventRegisterAny(
                        None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, network, None))
            conn.registerCloseCallback(closed, None)
            self._close_registered = True
            if "://" in self.uri and not self.uri.startswith("test:"):
                with contextlib.suppress(libvirt.libvirtError):  # local drivers refuse it
                    conn.setKeepAlive(*(keepalive or (-1, 0)))
        except libvirt.libvirtError as exc:
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None

    def close(self) -> None:
        """Close now, or as soon as the calls still running on the connection return."""
        with self._users_lock:
            if self.conn is None:
                self._discarded = True
            if self._closing or self.conn is None:
                return
            self._closing = True
            busy = self._users > 0
        if not busy:
            self._close_now()

    def _close_now(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        # Deregister before closing, as virt-manager does, so no callback fires on a dead conn.
        for cid in self._callback_ids:
            with contextlib.suppress(libvirt.libvirtError):
                conn.domainEventDeregisterAny(cid)
        for cid in self._network_callback_ids:
            with contextlib.suppress(libvirt.libvirtError):
                conn.networkEventDeregisterAny(cid)
        if self._close_registered:
            with contextlib.suppress(libvirt.libvirtError):
                conn.unregisterCloseCallback()
        self._callback_ids.clear()
        self._network_callback_ids.clear()
        self._close_registered = False
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()

    def alive(self) -> bool:
        try:
            self._enter()
        except HostError:
            return False
        try:
            return self.conn is not None and bool(self.conn.isAlive())
        except libvirt.libvirtError:
            return False
        finally:
            self._leave()

    @_using
    def probe(self) -> None:
        """One round trip to the daemon (isAlive only looks at our side of the socket)."""
        try:
            self._require().getLibVersion()
        except libvirt.libvirtError as exc:
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None

    def _require(self) -> libvirt.virConnect:
        if self.conn is None:
            raise HostError(self.host, f"{self.endpoint}: not connected")
        return self.conn

    # -- guests -------------------------------------------------------------------------
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

    @_using
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
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None
        guests = []
        for dom in domains:
            uuid = dom.UUIDString()
            try:
                guests.append(self._record(dom, autostart=uuid in autostart,
                                           persistent=uuid not in transient))
            except libvirt.libvirtError as exc:
                if not is_no_domain(exc):  # vanished while we listed: skip it
                    raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None
        return guests

    @_using
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
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None

    def _domain(self, guest: Guest) -> libvirt.virDomain:
        conn = self._require()
        try:
            return conn.lookupByUUIDString(guest.id)
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, guest.name, _message(exc)) from None

    @_using
    def perform(self, guest: Guest, action: Action, enable: bool = True) -> None:
        dom = self._domain(guest)
        try:
            _DOMAIN_CALLS[action](dom, enable)
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, guest.name, _message(exc)) from None

    @_using
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
            if exc.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT,
                                        libvirt.VIR_ERR_INVALID_ARG):
                return None
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None
        times = {dom.UUIDString(): int(values["cpu.time"]) for dom, values in stats
                 if "cpu.time" in values}
        return None if stats and not times else times

    # -- XML ----------------------------------------------------------------------------
    def dumpxml(self, guest: Guest, *, inactive: bool = False) -> str:
        return self.xml_by_uuid(guest.id, guest.name, inactive=inactive)

    @_using
    def xml_by_uuid(self, uuid: str, name: str, *, inactive: bool = False) -> str:
        conn = self._require()
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        try:
            return str(conn.lookupByUUIDString(uuid).XMLDesc(flags))
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, name, _message(exc),
                             missing=is_no_domain(exc)) from None

    @_using
    def define(self, xml: str) -> Guest:
        """Define (or redefine) a domain, with libvirt's schema validation."""
        conn = self._require()
        try:
            dom = conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, None, _message(exc)) from None
        self._facts.pop(dom.UUIDString(), None)
        return self._record(dom)

    @_using
    def define_network(self, xml: str) -> str:
        """Define (or redefine) a network, with validation where libvirt offers it."""
        conn = self._require()
        try:
            flags = getattr(libvirt, "VIR_NETWORK_DEFINE_VALIDATE", 0)
            net = conn.networkDefineXMLFlags(xml, flags)
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, None, _message(exc)) from None
        return str(net.name())

    @_using
    def xml_from_native(self, native_format: str, config: str) -> str:
        """A domain definition converted from a native config (e.g. "lxc-tools")."""
        conn = self._require()
        try:
            return str(conn.domainXMLFromNative(native_format, config, 0))
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, None, _message(exc)) from None

    # -- console ------------------------------------------------------------------------
    @_using
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
                code = exc.get_error_code()
                if flags and code in (libvirt.VIR_ERR_INVALID_ARG,
                                      libvirt.VIR_ERR_NO_SUPPORT):
                    flags = 0  # the driver has no forced takeover: plain open
                    continue
                message = _message(exc)
                if "active console session" in message.lower():  # QEMU's words
                    raise ConsoleBusy(self.host, guest.name, message) from None
                raise GuestError(self.host, guest.name, message,
                                 missing=is_no_domain(exc)) from None

    # -- networks -----------------------------------------------------------------------
    def _network(self, name: str) -> libvirt.virNetwork:
        conn = self._require()
        try:
            return conn.networkLookupByName(name)
        except libvirt.libvirtError as exc:
            missing = exc.get_error_code() == libvirt.VIR_ERR_NO_NETWORK
            raise GuestError(self.host, name, _message(exc), missing=missing) from None

    @_using
    def list_networks(self) -> list[Network]:
        conn = self._require()
        try:
            nets = conn.listAllNetworks(0)
            result = []
            for net in nets:
                try:
                    xml = str(net.XMLDesc(0))
                except libvirt.libvirtError:
                    continue  # undefined while we listed
                result.append(Network(
                    host=self.host, name=net.name(), uuid=net.UUIDString(),
                    active=bool(net.isActive()), autostart=bool(net.autostart()),
                    persistent=bool(net.isPersistent()), bridge=network_bridge(xml),
                    endpoint=self.endpoint, ranges=network_ranges(xml)))
            return result
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                return []
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None

    @_using
    def network_xml(self, name: str, *, inactive: bool = False) -> str:
        net = self._network(name)
        # The test driver (the demo host) keeps one definition per network and refuses
        # the flag ("unsupported flags (0x1)"): x on a demo network showed only that.
        flags = libvirt.VIR_NETWORK_XML_INACTIVE if inactive and self.driver != "TEST" else 0
        try:
            return str(net.XMLDesc(flags))
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, name, _message(exc)) from None

    @_using
    def network_action(self, name: str, action: str, enable: bool = True) -> None:
        """start, stop (destroy: the bridge goes away), autostart, undefine."""
        net = self._network(name)
        try:
            if action == "start":
                net.create()
            elif action == "stop":
                net.destroy()
            elif action == "autostart":
                net.setAutostart(1 if enable else 0)
            elif action == "undefine":
                net.undefine()
            else:
                raise ValueError(f"unknown network action {action!r}")
        except libvirt.libvirtError as exc:
            raise GuestError(self.host, name, _message(exc)) from None

    # -- facts --------------------------------------------------------------------------
    @_using
    def facts(self) -> dict[str, Any]:
        """Versions, whether KVM is usable, and the CPU's virtualisation flags."""
        conn = self._require()
        out: dict[str, Any] = {"driver": self.driver}
        try:
            out["libvirt_version"] = version_string(conn.getLibVersion())
            out["hypervisor_version"] = version_string(conn.getVersion())
        except libvirt.libvirtError as exc:
            out["hypervisor_version"] = f"unknown ({_message(exc)})"
        try:
            caps = conn.getCapabilities()
            from lxml import etree

            tree = etree.fromstring(caps.encode())
            flags = {f.get("name") for f in tree.iterfind("host/cpu/feature")}
            out["cpu_virt_flags"] = sorted(str(f) for f in flags & {"vmx", "svm"})
            out["kvm_capable"] = bool(tree.xpath("guest/arch/domain[@type='kvm']"))
        except libvirt.libvirtError:
            pass
        if self.driver == "QEMU":
            try:
                conn.getDomainCapabilities(None, None, None, "kvm", 0)
                out["kvm_usable"] = True
            except libvirt.libvirtError as exc:
                out["kvm_usable"] = False
                out["kvm_reason"] = _message(exc)
        return out
