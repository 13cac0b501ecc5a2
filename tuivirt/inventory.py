"""The inventory: the single store of guests across hosts, publishing small diffs."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from tuivirt.errors import AddressError
from tuivirt.model import DOCKER, LIBVIRT_KINDS, Guest, HostState


@dataclass(frozen=True, slots=True)
class HostStatus:
    name: str
    state: HostState
    reason: str = ""
    since: float = field(default_factory=time.time)
    #: endpoints (as configured) that are down or hung: their rows are stale
    down: tuple[str, ...] = ()
    #: the last probe or listing round trip, of the slowest endpoint that is up (ms)
    latency_ms: float | None = None
    #: epoch seconds: every endpoint that is up had answered by then (a listing, a
    #: probe or an event); the oldest of their latest answers
    confirmed: float | None = None
    #: endpoints that are up but have not answered for longer than the session's bound
    #: (three probe periods: the session's stale_after): what their rows say is not
    #: confirmed
    silent: tuple[str, ...] = ()

    @property
    def reachable(self) -> bool:
        return self.state in (HostState.CONNECTED, HostState.DEGRADED)

    @property
    def is_stale(self) -> bool:
        """Up, but part of it has not confirmed anything for too long."""
        return self.reachable and bool(self.silent)

    def stale(self, endpoint: str) -> bool:
        """Rows of this endpoint cannot be confirmed now (host or endpoint not answering,
        or silent for too long)."""
        return not self.reachable or endpoint in self.down or endpoint in self.silent

    def same_rows(self, other: HostStatus | None) -> bool:
        """Its rows look the same under `other` (only the latency or the time of the last
        answer moved: the table need not repaint)."""
        return (other is not None and other.state == self.state
                and other.down == self.down and other.silent == self.silent)


@dataclass(frozen=True, slots=True)
class Diff:
    """What changed in one step: rows added, changed (by key), removed, host statuses,
    and networks a daemon said changed ("HOST/NAME"). The one stream of fleet news."""

    added: tuple[Guest, ...] = ()
    changed: tuple[Guest, ...] = ()
    removed: tuple[str, ...] = ()
    hosts: tuple[HostStatus, ...] = ()
    networks: tuple[str, ...] = ()
    #: Only sampled figures changed (CPU %, memory in use): news that may wait a little
    #: (a fleet's samples come several a second; the UI takes them in batches).
    measured: bool = False

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.hosts
                    or self.networks)


Subscriber = Callable[[Diff], None]
_KIND_WORDS = frozenset((*LIBVIRT_KINDS, DOCKER))


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed guest address: [HOST/][KIND:]NAME."""

    name: str
    host: str | None = None
    kind: str | None = None

    @classmethod
    def parse(cls, text: str) -> Address:
        text = text.strip()
        if not text:
            raise AddressError(text, "empty guest address")
        host: str | None = None
        rest = text
        if "/" in text:
            host, rest = text.split("/", 1)
            if not host:
                raise AddressError(text, "empty host name before '/'")
        kind: str | None = None
        if ":" in rest:
            prefix, name = rest.split(":", 1)
            if prefix in LIBVIRT_KINDS or prefix == DOCKER:
                kind, rest = prefix, name
        if not rest:
            raise AddressError(text, "no guest name")
        return cls(name=rest, host=host, kind=kind)


class Inventory:
    """{guest key -> Guest} across hosts. Thread-safe; subscribers get diffs.

    Subscribers are called on the thread that made the change: they must only post a
    message (the UI) or record (tests), never block.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._guests: dict[str, Guest] = {}
        self._by_id: dict[tuple[str, str], str] = {}  # (host, id) -> key
        self._hosts: dict[str, HostStatus] = {}
        self._subscribers: list[Subscriber] = []

    # -- subscriptions ------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def _publish(self, diff: Diff) -> None:
        if not diff:
            return
        for subscriber in list(self._subscribers):
            subscriber(diff)

    # -- changes ------------------------------------------------------------------------
    def replace_endpoint(self, host: str, endpoint: str, guests: Iterable[Guest]) -> Diff:
        """A full listing of one endpoint of a host: the fallback, and the first fill."""
        with self._lock:
            fresh = {g.key: g for g in guests}
            old_keys = {k for k, g in self._guests.items()
                        if g.host == host and g.endpoint == endpoint}
            added = tuple(g for k, g in fresh.items() if k not in self._guests)
            changed = tuple(g for k, g in fresh.items()
                            if k in self._guests and self._guests[k] != g)
            removed = tuple(sorted(old_keys - fresh.keys()))
            for key in removed:
                self._forget(key)
            for key, guest in fresh.items():
                self._remember(key, guest)
            diff = Diff(added=added, changed=changed, removed=removed)
            self._publish(diff)
            return diff

    def upsert(self, guest: Guest) -> Diff:
        with self._lock:
            old = self._guests.get(guest.key)
            if old == guest:
                return Diff()
            # Same uuid/id under another key (renamed, or kind changed by a define).
            known = self._by_id.get((guest.host, guest.id))
            stale = (known,) if known is not None and known != guest.key else ()
            for key in stale:
                self._forget(key)
            self._remember(guest.key, guest)
            measured = old is not None and not stale and old.replace(
                cpu_percent=guest.cpu_percent, memory_used_mib=guest.memory_used_mib) == guest
            diff = (Diff(added=(guest,), removed=stale) if old is None
                    else Diff(changed=(guest,), removed=stale, measured=measured))
            self._publish(diff)
            return diff

    def remove_id(self, host: str, guest_id: str) -> Diff:
        with self._lock:
            known = self._by_id.get((host, guest_id))
            keys = (known,) if known is not None else ()
            for key in keys:
                self._forget(key)
            diff = Diff(removed=keys)
            self._publish(diff)
            return diff

    def _remember(self, key: str, guest: Guest) -> None:
        old = self._guests.get(key)
        if old is not None and old.id != guest.id:
            self._by_id.pop((old.host, old.id), None)
        self._guests[key] = guest
        self._by_id[guest.host, guest.id] = key

    def _forget(self, key: str) -> None:
        guest = self._guests.pop(key, None)
        if guest is not None and self._by_id.get((guest.host, guest.id)) == key:
            del self._by_id[guest.host, guest.id]

    def set_host(self, name: str, state: HostState, reason: str = "",
                 down: tuple[str, ...] = ()) -> None:
        with self._lock:
            old = self._hosts.get(name)
            if (old is not None and old.state == state and old.reason == reason
                    and old.down == down):
                return
            since = old.since if old is not None and old.state == state else time.time()
            status = HostStatus(name, state, reason, since=since, down=down)
            if old is not None:  # the health measured so far stays (set_health moves it)
                # Silent endpoints mean nothing once the host is not reachable (and a
                # lost host republished for them would be announced lost twice).
                silent = old.silent if status.reachable else ()
                status = dataclasses.replace(status, latency_ms=old.latency_ms,
                                             confirmed=old.confirmed, silent=silent)
            self._hosts[name] = status
            self._publish(Diff(hosts=(status,)))

    def set_health(self, health: Iterable[tuple[str, float | None, float | None,
                                                tuple[str, ...]]]) -> None:
        """(host, latency_ms, confirmed, silent endpoints) for many hosts, published as
        one diff: the fleet's watchdog measures every host at once (one UI update)."""
        with self._lock:
            changed = []
            for name, latency_ms, confirmed, silent in health:
                old = self._hosts.get(name)
                if old is None:
                    continue
                # No endpoint up: the last answer known stays the last answer.
                status = dataclasses.replace(
                    old, latency_ms=latency_ms, silent=silent,
                    confirmed=old.confirmed if confirmed is None else confirmed)
                if status != old:
                    self._hosts[name] = status
                    changed.append(status)
            self._publish(Diff(hosts=tuple(changed)))

    def network_changed(self, host: str, name: str) -> None:
        """A daemon said a network changed (networks are not stored: viewers reload)."""
        with self._lock:
            self._publish(Diff(networks=(f"{host}/{name}",)))

    # -- queries ------------------------------------------------------------------------
    def guests(self, host: str | None = None) -> list[Guest]:
        with self._lock:
            found = [g for g in self._guests.values() if host is None or g.host == host]
        return sorted(found, key=lambda g: (g.host, g.name, g.kind))

    def find_id(self, host: str, guest_id: str) -> Guest | None:
        with self._lock:
            key = self._by_id.get((host, guest_id))
            return self._guests.get(key) if key is not None else None

    def host_statuses(self) -> list[HostStatus]:
        with self._lock:
            return list(self._hosts.values())

    def address_of(self, guest: Guest) -> str:
        """HOST/NAME, or HOST/KIND:NAME when the name alone is ambiguous on that host."""
        return self.addresses([guest])[guest.key]

    def addresses(self, guests: Iterable[Guest]) -> dict[str, str]:
        """address_of for many guests at once, in one pass over the store."""
        with self._lock:
            counts: dict[tuple[str, str], int] = {}
            for g in self._guests.values():
                counts[g.host, g.name] = counts.get((g.host, g.name), 0) + 1
        result = {}
        for g in guests:
            prefix = g.name.split(":", 1)[0] if ":" in g.name else None
            if counts.get((g.host, g.name), 0) > 1 or prefix in _KIND_WORDS:
                result[g.key] = f"{g.host}/{g.kind}:{g.name}"
            else:
                result[g.key] = f"{g.host}/{g.name}"
        return result

    def resolve(self, text: str, *, unreachable: Iterable[str] = (),
                partial: Mapping[str, str] | None = None) -> Guest:
        """The one guest an address names; AddressError lists candidates when ambiguous.

        `unreachable`: hosts that are down; `partial`: {host: why} for hosts with an
        endpoint down. Either may hide the guest: "no such guest" then says so.
        """
        address = Address.parse(text)
        with self._lock:
            pool = [g for g in self._guests.values()
                    if (address.host is None or g.host == address.host)
                    and (address.kind is None or g.kind == address.kind)]
        matches = [g for g in pool if g.name == address.name]
        if not matches and len(address.name) >= 8:
            # A libvirt UUID or a (prefix of a) Docker id also names a guest.
            matches = [g for g in pool if g.id == address.name
                       or (g.kind == DOCKER and g.id.startswith(address.name))]
        if len(matches) == 1:
            return matches[0]
        if matches:
            candidates = tuple(sorted(self.addresses(matches).values()))
            # address_of may still be ambiguous across hosts; qualify fully then.
            if len(set(candidates)) < len(candidates):
                candidates = tuple(sorted(g.key for g in matches))
            raise AddressError(text, f"matches {len(matches)} guests", candidates)
        down = sorted(set(unreachable))
        if address.host is not None and address.host in down:
            raise AddressError(text, f"host {address.host} is not reachable")
        hidden = {h: why for h, why in (partial or {}).items()
                  if address.host is None or h == address.host}
        message = "no such guest"
        if address.host:
            message += f" on {address.host}"
        if hidden:
            message = "not found, but it may be on an endpoint that is down: " + "; ".join(
                f"host {h}: {why}" for h, why in sorted(hidden.items()))
        if down:
            message += f" (not reachable: {', '.join(down)})"
        raise AddressError(text, message)
