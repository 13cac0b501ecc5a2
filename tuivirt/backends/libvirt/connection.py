"""A connection to one libvirt URI: open, watch, close with its callers counted; host facts.

The guest and network calls (guests.py, networks.py) build on it; every call goes
through `using`, so none runs on a closed connection or past the endpoint's deadline.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import libvirt

from tuivirt.backends.deadline import Deadline, bounded
from tuivirt.backends.libvirt.loop import ensure_event_loop, event_loop_running
from tuivirt.errors import HostError
from tuivirt.model import version_string

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


def message(exc: libvirt.libvirtError) -> str:
    """The daemon's own words for a failure."""
    return str(exc.get_error_message() or exc)


def is_no_domain(exc: libvirt.libvirtError) -> bool:
    return bool(exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN)


def unsupported(exc: libvirt.libvirtError) -> bool:
    """The driver has no such call, or refuses the flag asked for."""
    return bool(exc.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT,
                                         libvirt.VIR_ERR_INVALID_ARG))


def _counted(method: Callable[P, R]) -> Callable[P, R]:
    """Count the call as a user of the connection, so close() never frees it mid-call."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        connection = args[0]
        assert isinstance(connection, LibvirtConnection)
        connection._enter()
        try:
            return method(*args, **kwargs)
        finally:
            connection._leave()

    return wrapper


def using(method: Callable[P, R]) -> Callable[P, R]:
    """A call on the connection: counted, and bounded by the endpoint's deadline (a hung
    daemon answers nothing, for ever)."""
    return bounded(_counted(method))


class LibvirtConnection:
    """A connection to one libvirt URI of a host.

    Thread-safe to close: closing a virConnect while another thread is inside a call on
    it crashed the process (SIGSEGV, seen when a host died under a CPU sample). So every
    call counts itself in, and the last one out does the close that was asked for.
    """

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

    def call(self, what: str, fn: Callable[Concatenate[libvirt.virConnect, P], R],
             *args: P.args, **kwargs: P.kwargs) -> R:
        """fn(conn, ...) for the modules by object (storage, capabilities): counted and
        bounded like every `using` method here; a libvirt error `fn` did not turn into
        ours is the endpoint's (HostError)."""
        def run(connection: LibvirtConnection) -> R:
            try:
                return fn(connection._require(), *args, **kwargs)
            except libvirt.libvirtError as exc:
                raise connection._host_error(exc) from None

        run.__name__ = what  # the deadline names it in a timeout
        return using(run)(self)

    def _host_error(self, exc: libvirt.libvirtError) -> HostError:
        """The daemon failed a call about the host as a whole (not one guest)."""
        return HostError(self.host, f"{self.endpoint}: {message(exc)}")

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
        self.streams_ready = event_loop_running()
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
            raise self._host_error(exc) from None

    def _host_arch(self) -> str | None:
        import re

        try:
            caps = self._require().getCapabilities()
        except libvirt.libvirtError:
            return None
        match = re.search(r"<host>.*?<arch>([^<]+)</arch>", caps, re.S)
        return match[1] if match else None

    @using
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
            raise self._host_error(exc) from None

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

    @using
    def probe(self) -> None:
        """One round trip to the daemon (isAlive only looks at our side of the socket)."""
        try:
            self._require().getLibVersion()
        except libvirt.libvirtError as exc:
            raise self._host_error(exc) from None

    def _require(self) -> libvirt.virConnect:
        if self.conn is None:
            raise HostError(self.host, f"{self.endpoint}: not connected")
        return self.conn

    # -- facts --------------------------------------------------------------------------
    @using
    def facts(self) -> dict[str, Any]:
        """Versions, whether KVM is usable, and the CPU's virtualisation flags."""
        conn = self._require()
        out: dict[str, Any] = {"driver": self.driver}
        try:
            out["libvirt_version"] = version_string(conn.getLibVersion())
            out["hypervisor_version"] = version_string(conn.getVersion())
        except libvirt.libvirtError as exc:
            out["hypervisor_version"] = f"unknown ({message(exc)})"
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
                out["kvm_reason"] = message(exc)
        return out
