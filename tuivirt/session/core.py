"""What every part of a host session shares: its state, its endpoints, its rules."""

from __future__ import annotations

import math
import queue
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from tuivirt.backends.deadline import Deadline
from tuivirt.backends.docker import DockerEndpoint
from tuivirt.backends.libvirt import LibvirtEndpoint
from tuivirt.config import HostConfig
from tuivirt.errors import (
    HostError,
    ReadOnlyError,
)
from tuivirt.inventory import Inventory
from tuivirt.model import DOCKER, Guest, HostState
from tuivirt.session.events import Endpoint, Recovered, SessionEvent

if TYPE_CHECKING:  # the console transports cost ~3 ms to import: not on `list`'s path
    from tuivirt.backends.console.transport import Transport

#: Docker events that change what we show; the rest (exec_*, attach, resize...) do not.
DOCKER_EVENTS = {"create", "start", "restart", "stop", "die", "kill", "pause", "unpause",
                 "destroy", "rename", "update", "oom", "health_status"}
MAX_BACKOFF = 30.0
#: A down endpoint is tried again after 1, 2, 4, 8, 10, 10... s: a restarted daemon is
#: back in the table within ~10 s, at the cost of one failed connect every 10 s.
ENDPOINT_MAX_BACKOFF = 10.0
UPKEEP_TICK = 0.25  # the least the upkeep thread sleeps between two rounds of work
RELIST_EVERY = 300.0  # the safety net under events, not the heartbeat
#: CPU usage has no events: sample it (one call per libvirt endpoint), which also proves
#: the daemon answers; Docker endpoints get a ping. A hung daemon is found within
#: STATS_EVERY (or the host's longer period in a big fleet: PROBE_BUDGET) + its timeout.
STATS_EVERY = 5.0
#: An endpoint that is up but has answered nothing (no listing, probe or event) for this
#: long is stale: its rows are dimmed. Three probe periods, so that one slow probe of a
#: busy daemon does not flap it. Independent of the host's timeout: with timeout = 60 a
#: hung daemon shows stale after ~15-20 s, long before its deadline marks it down.
#: In a fleet past its probe budget, three of the host's longer periods (stale_after).
STALE_AFTER = 3 * STATS_EVERY
#: The fleet's probe budget: hosts probed per second, all hosts together. Up to
#: PROBE_BUDGET * STATS_EVERY hosts each is probed every STATS_EVERY s; past that each
#: host's period grows with the fleet (hosts / PROBE_BUDGET), and so do its staleness
#: bound (three of its periods) and the time to find a hung daemon (period + timeout):
#: idle CPU stays flat instead of growing with every host (each probe round of a host
#: over SSH is ~1 ms of CPU in this process, most of it in the SSH loop's thread).
PROBE_BUDGET = 8.0


#: Probes fall on the fleet's beat: a probe is due at a whole number of beats of the
#: process's monotonic clock, so the hosts due in the same beat (8 at 100 hosts) probe at
#: the same instant and their round trips share the wake-ups of the SSH loop, of libvirt's
#: event thread and of the GIL's holders. Spread at random instead, each round trip paid
#: for its own: the idle CPU of a fleet of 100 was a quarter higher. Periods are whole
#: beats (STATS_EVERY is; budget_period rounds up), so a host keeps its slot.
PROBE_BEAT = 1.0


def on_beat(t: float) -> float:
    """The first beat at or after t (monotonic seconds)."""
    return math.ceil(t / PROBE_BEAT) * PROBE_BEAT


def budget_period(hosts: int) -> float:
    """The shortest probe period the budget allows each host of a fleet of `hosts`, in
    whole beats (a host is probed every max(STATS_EVERY, this))."""
    return math.ceil(hosts / PROBE_BUDGET / PROBE_BEAT) * PROBE_BEAT


#: A new latency is published when it moved by more than this factor, at most every
#: LATENCY_PUBLISH_EVERY s per host: 300 hosts' probes must not repaint the UI each time.
LATENCY_BAND = 1.25
LATENCY_PUBLISH_EVERY = 10.0


class SessionCore:
    """The state of one host session; the parts (mixins) of HostSession build on it."""

    def __init__(self, host: HostConfig, inventory: Inventory, *, timeout: float = 10.0,
                 live: bool = False) -> None:
        self.host = host
        self.name = host.name
        self.inventory = inventory
        self.timeout = timeout
        self.live = live  # subscribe to events and reconnect (the UI); the CLI lists once
        self.state = HostState.DISCONNECTED
        self.reason = ""
        self.tunnel: Any = None  # backends.ssh.SSHTunnel, imported only for ssh hosts
        self.libvirt: list[LibvirtEndpoint] = []
        self.docker: DockerEndpoint | None = None
        #: configured endpoint -> "ok" or why it is down (in config order)
        self.endpoint_status: dict[str, str] = {}
        self._deadlines: dict[str, Deadline] = {}
        self._retry: dict[str, tuple[float, float]] = {}  # spec -> (next try, backoff)
        self._retrying: set[str] = set()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        #: wakes the upkeep thread early: a retry (re)scheduled, a stop, a new generation
        self._wake = threading.Event()
        self._events: queue.Queue[SessionEvent] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._docker_thread: threading.Thread | None = None
        self._generation = 0  # bumps on every (re)connect; stale callbacks are ignored
        #: the upkeep thread at work; one left in a call to a hung daemon ends on its return
        self._upkeep_token = object()
        self._upkeep_lock = threading.Lock()  # who is the upkeep: decided under it
        #: what the new-VM form offers (creation.Offer), kept for a while; dropped when this
        #: session changes a pool or a network (their lists are in it)
        self._vm_offer_cache: tuple[tuple[int, int], Any] | None = None
        #: endpoint -> uuid -> (monotonic ns, cpu ns) at the last sample
        self._cpu_samples: dict[str, dict[str, tuple[int, int]]] = {}
        self._no_cpu_stats: set[str] = set()  # endpoints whose driver keeps no CPU time
        #: the shortest probe period the fleet's budget allows (Fleet sets it: budget_period)
        self.probe_every = 0.0
        #: endpoint -> epoch seconds of its last answer (listing, probe, event)
        self._heard: dict[str, float] = {}
        #: endpoint -> seconds of its last probe or listing round trip
        self._round_trip: dict[str, float] = {}
        #: what check_health last published: (latency ms, silent endpoints, when)
        self._health_shown: tuple[float | None, tuple[str, ...], float] = (None, (), 0.0)
        #: health() has news to look for: something it reads changed since it last ran
        #: (an answer, an endpoint's status, the host's state). Set by any thread, with
        #: no lock: health() clears it before it reads.
        self._health_dirty = True
        #: when health() must run again even with nothing new (epoch s): the first
        #: endpoint to fall silent, or a held-back latency's turn
        self._health_due = 0.0
        #: the consoles this session opened -> the endpoint carrying each ("ssh": the link)
        self._consoles: weakref.WeakKeyDictionary[Transport, str] = (
            weakref.WeakKeyDictionary())

    def _set_state(self, state: HostState, reason: str = "") -> None:
        self.state, self.reason = state, reason
        self._health_dirty = True
        self.inventory.set_host(self.name, state, reason, down=self.endpoints_down())

    @property
    def reachable(self) -> bool:
        return self.state in (HostState.CONNECTED, HostState.DEGRADED)

    def endpoints_down(self) -> tuple[str, ...]:
        """The configured endpoints that are not answering now (their rows are stale)."""
        return tuple(spec for spec, st in self.endpoint_status.items() if st != "ok")

    def _publish_state(self) -> None:
        failures = [st for st in self.endpoint_status.values() if st != "ok"]
        if failures:
            self._set_state(HostState.DEGRADED, "; ".join(failures))
        else:
            self._set_state(HostState.CONNECTED)

    def _answered(self, spec: str, round_trip: float | None = None) -> None:
        """The endpoint answered (a listing, a probe, an event's lookup): its rows are
        confirmed now; `round_trip` (seconds) is its latency when this was a probe or a
        listing. Called from any session thread: two dict stores, no lock."""
        self._heard[spec] = time.time()
        if round_trip is not None:
            self._round_trip[spec] = round_trip
        self._health_dirty = True

    def _set_endpoint_status(self, spec: str, status: str) -> None:
        """"ok", or why the endpoint is down."""
        self.endpoint_status[spec] = status
        self._health_dirty = True

    @property
    def keepalive_every(self) -> float:
        """The SSH keepalive's interval. In a fleet past its probe budget, one and a half
        probe periods: the probes' answers then keep the link busy (100 hosts' keepalives
        every 5 s were a third of the SSH thread's idle CPU), and a cut link is found by
        the probes, within a period and the timeout, as before."""
        from tuivirt.backends.ssh import KEEPALIVE_EVERY

        if self.probe_every <= STATS_EVERY:
            return KEEPALIVE_EVERY
        return max(KEEPALIVE_EVERY, 1.5 * self.probe_every)

    @property
    def stale_after(self) -> float:
        """Silent this long, an endpoint that is up is stale: three of this host's probe
        periods (which grow with the fleet past its probe budget)."""
        return max(STALE_AFTER, 3 * self.probe_every)

    def health(self, now: float | None = None) -> tuple[
            str, float | None, float | None, tuple[str, ...]] | None:
        """(host, latency ms, confirmed, silent endpoints) when it should be published
        (the silent set changed, or the latency moved out of its band), else None.

        Run by the fleet's watchdog thread, not the upkeep thread: that one may sit in a
        probe of a hung daemon for the whole timeout, which is when this matters.
        """
        now = time.time() if now is None else now
        if not self._health_dirty and now < self._health_due:
            return None  # nothing it reads changed, and no endpoint fell silent yet
        self._health_dirty = False
        status = dict(self.endpoint_status)  # a copy: the event thread changes it
        up = [spec for spec, st in status.items() if st == "ok"] if self.reachable else []
        heard = [self._heard.get(spec, now) for spec in up]
        confirmed = min(heard) if heard else None
        stale_after = self.stale_after
        silent = tuple(spec for spec, when in zip(up, heard, strict=True)
                       if now - when > stale_after)
        trips = [self._round_trip[spec] for spec in up if spec in self._round_trip]
        latency = round(max(trips) * 1000, 1) if trips else None
        shown_latency, shown_silent, shown_at = self._health_shown
        out_of_band = latency is not None and (
            shown_latency is None
            or not shown_latency / LATENCY_BAND <= latency <= shown_latency * LATENCY_BAND)
        moved = out_of_band and (shown_latency is None
                                 or now - shown_at >= LATENCY_PUBLISH_EVERY)
        # Nothing new, this must run again when the next endpoint falls silent, or when
        # a latency held back (published less than LATENCY_PUBLISH_EVERY ago) may show.
        due = [when + stale_after for when in heard if now - when <= stale_after]
        if out_of_band and not moved:
            due.append(shown_at + LATENCY_PUBLISH_EVERY)
        self._health_due = min(due, default=float("inf"))
        if silent == shown_silent and not moved:
            return None
        if not moved:
            latency = shown_latency
        self._health_shown = (latency, silent, now if moved else shown_at)
        return self.name, latency, confirmed, silent

    def _deadline(self, spec: str) -> Deadline:
        deadline = self._deadlines.get(spec)
        if deadline is None:
            deadline = Deadline(self.name, spec, self.timeout,
                                on_recovered=lambda: self._events.put(Recovered(spec)))
            self._deadlines[spec] = deadline
        return deadline

    @property
    def _specs(self) -> list[str]:
        return [*self.host.libvirt, *([self.host.docker] if self.host.docker else [])]

    def _current_endpoint(self, spec: str) -> Endpoint | None:
        if self.docker is not None and self.docker.endpoint == spec:
            return self.docker
        return next((e for e in self.libvirt if e.endpoint == spec), None)

    def _check_writable(self, what: str, guest: str | None = None) -> None:
        if self.host.read_only:
            raise ReadOnlyError(self.name, guest, what)

    def _not_connected(self, spec: str) -> HostError:
        """Why an endpoint cannot be used now, in the words it failed with."""
        status = self.endpoint_status.get(spec, "")
        if status and status != "ok":
            return HostError(self.name, f"{status} (retrying)" if self.live else status)
        if not self.reachable and self.reason:
            return HostError(self.name, f"host not reachable: {self.reason}")
        return HostError(self.name, f"{spec} is not connected")

    def _endpoint_for(self, guest: Guest) -> LibvirtEndpoint | DockerEndpoint:
        if guest.kind == DOCKER:
            if self.docker is None:
                raise self._not_connected(self.host.docker or "docker")
            return self.docker
        for endpoint in self.libvirt:
            if endpoint.endpoint == guest.endpoint:
                return endpoint
        raise self._not_connected(guest.endpoint or "libvirt")

    def libvirt_for_type(self, domain_type: str) -> LibvirtEndpoint:
        """The connection whose driver runs domains of this type (kvm/qemu -> QEMU...)."""
        if not self.libvirt:
            raise HostError(self.name, "no libvirt connection on this host")
        wanted = {"kvm": "QEMU", "qemu": "QEMU", "kqemu": "QEMU"}.get(domain_type,
                                                                       domain_type.upper())
        for endpoint in self.libvirt:
            if endpoint.driver.upper() == wanted:
                return endpoint
        if len(self.libvirt) == 1:
            return self.libvirt[0]
        drivers = ", ".join(f"{e.endpoint} ({e.driver})" for e in self.libvirt)
        raise HostError(self.name, f"no connection runs type={domain_type!r} domains "
                        f"(connected: {drivers})")

    def _libvirt_named(self, endpoint: str) -> LibvirtEndpoint:
        for candidate in self.libvirt:
            if candidate.endpoint == endpoint or not endpoint:
                return candidate
        raise self._not_connected(endpoint or "libvirt")

    @property
    def _local(self) -> bool:
        """This machine is the host (no ssh, no remote libvirt URI, not the demo)."""
        return not self.host.demo and not any(
            "://" in u and not u.split("://")[1].startswith("/") for u in self.host.libvirt)

    @property
    def heavy(self) -> bool:
        """Connecting imports asyncssh or the Docker SDK (0.1-0.4 s of Python each)."""
        return self.host.ssh is not None or self.host.docker is not None

    def ensure_connected(self) -> None:
        """Reconnect what is down before a call (connection.py; here for the parts)."""
        raise NotImplementedError

    def lookup(self, guest: Guest) -> Guest | None:
        """The guest's record now, from its daemon (guests.py; here for the parts)."""
        raise NotImplementedError

    def end_consoles(self, reason: str, endpoint: str | None = None) -> None:
        """End the consoles on `endpoint`, or all (consoles.py; here for the parts)."""
        raise NotImplementedError
