"""Host sessions: one per configured host, a small state machine with reconnect and backoff.

    disconnected -> connecting -> connected/degraded -> lost -> reconnecting -> ...

A session owns the host's SSH tunnel (if any), its libvirt connections and its Docker
client. It feeds the inventory: a full listing on connect, then daemon events. A slow or
dead host only ever blocks its own threads.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from tuivirt.actions import Action
from tuivirt.backends.console import ConsoleBuffer, Transport
from tuivirt.backends.deadline import Deadline
from tuivirt.backends.docker import DockerEndpoint
from tuivirt.backends.libvirt import LibvirtEndpoint
from tuivirt.config import Config, HostConfig
from tuivirt.errors import (
    ActionTimedOut,
    DefinitionChanged,
    EndpointHung,
    GuestError,
    HostError,
    ReadOnlyError,
    TuivirtError,
    unknown_host,
)
from tuivirt.inventory import Inventory
from tuivirt.model import DOCKER, Applied, DefinitionRef, Guest, HostFacts, HostState, Network

#: Where libvirtd listens on a remote host reached through `ssh = ...`.
REMOTE_LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"
#: Docker events that change what we show; the rest (exec_*, attach, resize...) do not.
DOCKER_EVENTS = {"create", "start", "restart", "stop", "die", "kill", "pause", "unpause",
                 "destroy", "rename", "update", "oom", "health_status"}
_LOCAL_URI_RE = re.compile(r"^(?P<driver>[a-z0-9]+):///(?P<path>[a-z]+)(?P<query>\?.*)?$")
MAX_BACKOFF = 30.0
#: A down endpoint is tried again after 1, 2, 4, 8, 10, 10... s: a restarted daemon is
#: back in the table within ~10 s, at the cost of one failed connect every 10 s.
ENDPOINT_MAX_BACKOFF = 10.0
UPKEEP_TICK = 0.25  # how often the upkeep thread looks for endpoints due a retry
RELIST_EVERY = 300.0  # the safety net under events, not the heartbeat
#: CPU usage has no events: sample it (one call per libvirt endpoint), which also proves
#: the daemon answers; Docker endpoints get a ping. A hung daemon is found within
#: STATS_EVERY + the host's timeout.
STATS_EVERY = 5.0


def tunnel_uri(uri: str, socket_path: str) -> str | None:
    """qemu:///system on a remote host -> qemu+unix:///system?socket=LOCAL; None if not local."""
    match = _LOCAL_URI_RE.match(uri)
    if not match:
        return None
    return f"{match['driver']}+unix:///{match['path']}?socket={socket_path}"



Endpoint = LibvirtEndpoint | DockerEndpoint


class HostSession:
    """One configured host: connection state, endpoints, actions.

    Each endpoint (a libvirt URI, the Docker URL) lives on its own: one that fails, hangs
    or is killed is marked down (its rows stale), closed, and opened again with backoff
    while the others go on; the host is lost only when its SSH link is, or when no
    endpoint is left. Every daemon call is bounded by the host's timeout (Deadline).
    """

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
        self._events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._docker_thread: threading.Thread | None = None
        self._generation = 0  # bumps on every (re)connect; stale callbacks are ignored
        #: endpoint -> uuid -> (monotonic ns, cpu ns) at the last sample
        self._cpu_samples: dict[str, dict[str, tuple[int, int]]] = {}
        self._no_cpu_stats: set[str] = set()  # endpoints whose driver keeps no CPU time
        #: called (host, network name) on libvirt network events; on the event thread
        self.network_listeners: list[Callable[[str, str], None]] = []
        self.on_state: Callable[[HostSession], None] | None = None

    # -- state --------------------------------------------------------------------------
    def _set_state(self, state: HostState, reason: str = "") -> None:
        self.state, self.reason = state, reason
        self.inventory.set_host(self.name, state, reason, down=self.endpoints_down())
        if self.on_state is not None:
            self.on_state(self)

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

    def _deadline(self, spec: str) -> Deadline:
        deadline = self._deadlines.get(spec)
        if deadline is None:
            deadline = Deadline(self.name, spec, self.timeout,
                                on_recovered=lambda: self._events.put((-1, "recovered", spec)))
            self._deadlines[spec] = deadline
        return deadline

    # -- connecting ---------------------------------------------------------------------
    def connect(self) -> None:
        """Open the SSH tunnel (if any) and every endpoint, and list them all.

        Blocking; raises HostError when no endpoint answers. Endpoints that fail while
        others work leave the host DEGRADED, with the reasons in endpoint_status.
        """
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._teardown()
            self._set_state(HostState.RECONNECTING if self.state in (
                HostState.LOST, HostState.RECONNECTING) else HostState.CONNECTING)
            try:
                self._connect(generation)
            except HostError as exc:
                self._teardown()
                self._set_state(HostState.LOST, exc.message)
                raise

    @property
    def _specs(self) -> list[str]:
        return [*self.host.libvirt, *([self.host.docker] if self.host.docker else [])]

    def _connect(self, generation: int) -> None:
        host = self.host
        if host.ssh is not None:
            from tuivirt.backends.ssh import SSHTunnel  # asyncio + asyncssh: only when used

            self.tunnel = SSHTunnel(host, timeout=self.timeout,
                                    on_lost=lambda r: self._lost(generation, r))
            self.tunnel.connect()
        self.endpoint_status = {}
        self._retry.clear()
        specs = self._specs
        # In parallel: one hung daemon costs its own deadline, not the others'.
        outcome: dict[str, Endpoint | str] = {}
        settled = threading.Lock()
        given_up = False  # an open that returns after this closes what it opened

        def attempt(spec: str) -> None:
            found: Endpoint | str
            try:
                found = self._open_endpoint(spec, generation)
            except HostError as exc:
                found = exc.message
            except Exception as exc:  # an unexpected library error: report, don't crash
                found = f"{spec}: {type(exc).__name__}: {exc}"
            with settled:
                if not given_up:
                    outcome[spec] = found
                    return
            if not isinstance(found, str):
                found.close()

        threads = [threading.Thread(target=attempt, args=(spec,), daemon=True,
                                    name=f"open-{self.name}") for spec in specs[1:]]
        for thread in threads:
            thread.start()
        if specs:
            attempt(specs[0])
        for thread in threads:
            thread.join(3 * self.timeout + 1)  # open, watch, list: each bounded
        with settled:
            given_up = True
        for spec in specs:
            found = outcome.get(spec, f"{spec}: no answer after {3 * self.timeout:g} s")
            if isinstance(found, str):
                self._endpoint_down(spec, found)
            else:
                self._endpoint_up(spec, found)
        if not any(st == "ok" for st in self.endpoint_status.values()):
            failures = "; ".join(self.endpoint_status.values())
            raise HostError(self.name, failures or "nothing to connect")
        self._publish_state()

    def _open_endpoint(self, spec: str, generation: int) -> Endpoint:
        """Open one endpoint, follow its events, list its guests into the inventory."""
        endpoint: Endpoint
        if spec == self.host.docker and spec not in self.host.libvirt:
            endpoint = self._docker_endpoint(spec)
            try:
                endpoint.open()
                guests = endpoint.list_guests()
            except BaseException:
                endpoint.close()
                raise
        else:
            from tuivirt.backends.libvirt import event_loop_running

            endpoint = self._libvirt_endpoint(spec)  # may forward a socket: may fail
            try:
                endpoint.open(events=self.live)
                if self.live or event_loop_running():
                    self._watch_libvirt(endpoint, generation)
                guests = endpoint.list_guests()
            except BaseException:
                endpoint.close()
                raise
        self.inventory.replace_endpoint(self.name, endpoint.endpoint, guests)
        if isinstance(endpoint, DockerEndpoint) and self.live:
            self._docker_thread = threading.Thread(
                target=self._watch_docker, args=(endpoint, generation),
                name=f"docker-events-{self.name}", daemon=True)
            self._docker_thread.start()
        return endpoint

    def _current_endpoint(self, spec: str) -> Endpoint | None:
        if self.docker is not None and self.docker.endpoint == spec:
            return self.docker
        return next((e for e in self.libvirt if e.endpoint == spec), None)

    def _endpoint_up(self, spec: str, endpoint: Endpoint) -> None:
        old = self._current_endpoint(spec)
        if old is not None and old is not endpoint:
            self._detach(old)
        if isinstance(endpoint, DockerEndpoint):
            self.docker = endpoint
        else:
            order = self.host.libvirt
            self.libvirt = sorted([*self.libvirt, endpoint],
                                  key=lambda e: order.index(e.endpoint)
                                  if e.endpoint in order else len(order))
        self.endpoint_status[spec] = "ok"
        self._retry.pop(spec, None)

    def _endpoint_down(self, spec: str, reason: str) -> None:
        """Mark an endpoint down (its rows stale), close it, and retry it with backoff."""
        old = self._current_endpoint(spec)
        if old is not None:
            self._detach(old)
        if not reason.startswith(spec):
            reason = f"{spec}: {reason}"
        self.endpoint_status[spec] = reason
        _next, backoff = self._retry.get(spec, (0.0, 0.5))
        backoff = min(backoff * 2, ENDPOINT_MAX_BACKOFF)
        self._retry[spec] = (time.monotonic() + backoff, backoff)

    def _detach(self, endpoint: Endpoint) -> None:
        if endpoint is self.docker:
            self.docker = None
        elif endpoint in self.libvirt:
            self.libvirt = [e for e in self.libvirt if e is not endpoint]
        # Closing may wait on a call stuck in a hung daemon: never on this thread.
        threading.Thread(target=endpoint.close, daemon=True, name="close-endpoint").start()

    def _watch_libvirt(self, endpoint: LibvirtEndpoint, generation: int) -> None:
        live = self.live

        def on_event(uuid: str, _name: str, event: str) -> None:
            if live:
                self._events.put((generation, "libvirt", endpoint, uuid, event))

        def on_close(reason: str) -> None:
            self._endpoint_lost(generation, endpoint, reason)

        def on_network_event(name: str) -> None:
            for listener in list(self.network_listeners):
                listener(self.name, name)

        tunnelled = endpoint.uri != endpoint.endpoint  # carried by our SSH connection
        endpoint.watch(on_event=on_event, on_close=on_close,
                       keepalive=None if tunnelled else (5, 3),
                       on_network_event=on_network_event if live else None)

    def _libvirt_endpoint(self, uri: str) -> LibvirtEndpoint:
        read_only = self.host.read_only
        deadline = self._deadline(uri)
        if self.tunnel is not None:
            forwarded = tunnel_uri(uri, "")
            if forwarded is not None:
                local = self.tunnel.forward(REMOTE_LIBVIRT_SOCKET, "libvirt")
                return LibvirtEndpoint(self.name, tunnel_uri(uri, local) or uri,
                                       display_uri=uri, read_only=read_only,
                                       deadline=deadline)
        return LibvirtEndpoint(self.name, uri, read_only=read_only, deadline=deadline)

    def _docker_endpoint(self, url: str) -> DockerEndpoint:
        deadline = self._deadline(url)
        if self.tunnel is not None:
            local = self.tunnel.forward(url.removeprefix("unix://"), "docker")
            return DockerEndpoint(self.name, f"unix://{local}", display_url=url,
                                  timeout=self.timeout, deadline=deadline)
        return DockerEndpoint(self.name, url, timeout=self.timeout, deadline=deadline)

    def _teardown(self) -> None:
        for endpoint in self.libvirt:
            endpoint.close()
        self.libvirt = []
        if self.docker is not None:
            self.docker.close()
            self.docker = None
        if self.tunnel is not None:
            self.tunnel.close()
            self.tunnel = None

    def close(self) -> None:
        self._stop.set()
        self._events.put((-1, "stop"))
        # A connect stuck on a hung host holds the lock: do not hang the caller on it.
        if not self._lock.acquire(timeout=1.0):
            return
        try:
            self._teardown()
            self._set_state(HostState.DISCONNECTED)
        finally:
            self._lock.release()

    # -- live mode: events, loss, reconnect ------------------------------------------------
    @property
    def heavy(self) -> bool:
        """Connecting imports asyncssh or the Docker SDK (0.1-0.4 s of Python each)."""
        return self.host.ssh is not None or self.host.docker is not None

    def start(self, gate: threading.Event | None = None) -> None:
        """Run the session in the background: connect, follow events, reconnect when lost.

        A heavy session first waits (at most a second) for `gate`: the UI opens it once
        the first rows are on screen, so big imports do not fight them for the GIL.
        """
        self.live = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(gate,),
                                        name=f"session-{self.name}", daemon=True)
        self._thread.start()

    def _lost(self, generation: int, reason: str) -> None:
        """The whole host is gone (its SSH link)."""
        if self.live:
            self._events.put((generation, "lost", reason))
        elif generation == self._generation and self.reachable:
            # No background session serves events (`tuivirt console`): say it now; the
            # next call reconnects (ensure_connected). No lock: this runs on the SSH
            # loop's thread, which a connect holding the lock may be waiting for.
            self._set_state(HostState.LOST, reason)

    def _endpoint_lost(self, generation: int, endpoint: Endpoint, reason: str) -> None:
        """One endpoint's connection closed under us (daemon killed, restarted...)."""
        if self.live:
            self._events.put((generation, "endpoint-lost", endpoint, reason))
        elif generation == self._generation and self._current_endpoint(
                endpoint.endpoint) is endpoint:
            # `tuivirt console`: say so now (on libvirt's event thread: no closing here);
            # ensure_connected opens it again.
            self.endpoint_status[endpoint.endpoint] = f"{endpoint.endpoint}: {reason}"
            if self.reachable:
                self._publish_state()

    def ensure_connected(self) -> None:
        """Without a background session, reconnect what is down before the next call."""
        if self.live:
            return
        if not self.reachable:
            self.connect()
            return
        with self._lock:
            generation = self._generation
            for spec in self._specs:
                endpoint = self._current_endpoint(spec)
                dead = (isinstance(endpoint, LibvirtEndpoint) and not endpoint.alive())
                if endpoint is not None and self.endpoint_status.get(spec) == "ok" \
                        and not dead:
                    continue
                try:
                    self._endpoint_up(spec, self._open_endpoint(spec, generation))
                except HostError as exc:
                    self._endpoint_down(spec, exc.message)
            if not any(st == "ok" for st in self.endpoint_status.values()):
                self._teardown()
                self._set_state(HostState.LOST, "; ".join(self.endpoint_status.values()))
                return
            self._publish_state()

    def _watch_docker(self, docker: DockerEndpoint, generation: int) -> None:
        try:
            docker.watch(lambda cid, action: self._events.put(
                (generation, "docker", docker, cid, action)))
        except HostError as exc:
            self._endpoint_lost(generation, docker, exc.message)
            return
        if docker.api is not None:  # the stream ended without us closing it
            self._endpoint_lost(generation, docker, "event stream ended")

    def _run(self, gate: threading.Event | None = None) -> None:
        if gate is not None and self.heavy:
            gate.wait(1.0)
        backoff = 1.0
        while not self._stop.is_set():
            try:
                self.connect()
            except HostError:
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            generation = self._generation
            upkeep = threading.Thread(target=self._upkeep, args=(generation,),
                                      name=f"upkeep-{self.name}", daemon=True)
            upkeep.start()
            reason = self._serve(generation)
            if self._stop.is_set():
                return
            with self._lock:
                self._teardown()
                self._set_state(HostState.LOST, reason)
            if self._stop.wait(1.0):
                return

    def _serve(self, generation: int) -> str:
        """Apply events until the host is lost; returns why.

        Only this thread changes the endpoint lists and statuses while live; the upkeep
        thread (probes, stats, relisting, reopening) reports to it through the queue.
        """
        while not self._stop.is_set():
            item = self._events.get()
            if item[0] not in (generation, -1):
                continue  # from an earlier connection
            kind = item[1]
            if kind == "stop":
                return "stopped"
            if kind == "lost":
                return str(item[2])
            with self._lock:
                if kind == "endpoint-lost":
                    gone: Endpoint = item[2]
                    if self._current_endpoint(gone.endpoint) is gone:
                        self._endpoint_down(gone.endpoint, str(item[3]))
                elif kind == "reopened":
                    _g, _k, spec, found = item
                    self._retrying.discard(spec)
                    if isinstance(found, str):
                        self._endpoint_down(spec, found)
                    else:
                        self._endpoint_up(spec, found)
                elif kind == "recovered":  # a hung daemon answered again: retry now
                    spec = item[2]
                    if spec in self._retry:
                        self._retry[spec] = (0.0, self._retry[spec][1])
                    continue
                else:
                    self._apply_event(item)
                    continue
                if self.tunnel is not None and not self.tunnel.connected:
                    return "ssh connection lost"
                if not any(st == "ok" for st in self.endpoint_status.values()):
                    return "; ".join(self.endpoint_status.values())
                self._publish_state()
        return "stopped"

    def _apply_event(self, item: tuple[Any, ...]) -> None:
        """A daemon event: look the guest up again (bounded); a failure downs its endpoint."""
        _g, kind, _e, ident, event = item
        endpoint: Endpoint = item[2]
        if self._current_endpoint(endpoint.endpoint) is not endpoint:
            return  # an endpoint closed since: its relisting covers this
        if kind == "docker" and event.split(":")[0] not in DOCKER_EVENTS:
            return
        guest: Guest | None
        try:
            if isinstance(endpoint, LibvirtEndpoint):
                guest = endpoint.lookup(ident, refresh_facts=event in ("defined",
                                                                       "undefined"))
            else:
                guest = endpoint.lookup(ident)
        except HostError as exc:
            self._events.put((item[0], "endpoint-lost", endpoint, exc.message))
            return
        if guest is None:
            self.inventory.remove_id(self.name, ident)
        else:
            self.inventory.upsert(guest)

    def _upkeep(self, generation: int) -> None:
        """Periodic work off the event thread: reopen endpoints that are down (with
        backoff), probe the others, sample CPU, relist now and then (the safety net)."""
        last_list = last_probe = time.monotonic()
        self._cpu_samples.clear()
        while not self._stop.wait(UPKEEP_TICK) and generation == self._generation:
            now = time.monotonic()
            for spec, (due, _backoff) in list(self._retry.items()):
                if due <= now and spec not in self._retrying:
                    self._retrying.add(spec)
                    self._reopen(spec, generation)
            if now - last_probe < STATS_EVERY:
                continue
            last_probe = now
            relist = now - last_list > RELIST_EVERY
            if relist:
                last_list = now
            endpoints: list[Endpoint] = [*self.libvirt, *([self.docker] if self.docker else [])]
            for endpoint in endpoints:
                try:
                    if isinstance(endpoint, LibvirtEndpoint):
                        if not endpoint.alive():
                            raise HostError(self.name, "the connection closed")
                        if not self._sample_cpu(endpoint):
                            endpoint.probe()
                    else:
                        endpoint.probe()
                    if relist:
                        self.inventory.replace_endpoint(self.name, endpoint.endpoint,
                                                        endpoint.list_guests())
                except HostError as exc:
                    self._events.put((generation, "endpoint-lost", endpoint, exc.message))

    def _reopen(self, spec: str, generation: int) -> None:
        """One attempt to open a down endpoint again; the outcome goes to the queue."""
        deadline = self._deadlines.get(spec)
        found: Endpoint | str
        if deadline is not None and deadline.hung:
            found = (f"{spec}: not answering for {deadline.hung_for():.0f} s: the daemon "
                     "may be hung")
        else:
            try:
                found = self._open_endpoint(spec, generation)
            except HostError as exc:
                found = exc.message
            except Exception as exc:
                found = f"{spec}: {type(exc).__name__}: {exc}"
        self._events.put((generation, "reopened", spec, found))

    def _sample_cpu(self, endpoint: LibvirtEndpoint) -> bool:
        """CPU usage of running domains since the last sample, as % of their vCPUs.

        False when the driver keeps no CPU statistics (nothing was asked of the daemon).
        """
        if endpoint.endpoint in self._no_cpu_stats:
            return False
        now = time.monotonic_ns()
        times = endpoint.cpu_times()
        if times is None:
            self._no_cpu_stats.add(endpoint.endpoint)
            return False
        samples = {uuid: (now, cpu) for uuid, cpu in times.items()}
        before = self._cpu_samples.get(endpoint.endpoint, {})
        self._cpu_samples[endpoint.endpoint] = samples
        for uuid, cpu in times.items():
            previous = before.get(uuid)
            guest = self.inventory.find_id(self.name, uuid)
            if previous is None or guest is None or not guest.vcpus:
                continue
            elapsed = now - previous[0]
            if elapsed <= 0:
                continue
            percent = float(round(100 * (cpu - previous[1]) / elapsed / guest.vcpus))
            percent = min(100.0, max(0.0, percent))
            if guest.cpu_percent != percent:
                self.inventory.upsert(guest.replace(cpu_percent=percent))
        return True

    def refresh(self) -> None:
        """Full relisting of every connected endpoint (the fallback under events)."""
        endpoints: list[Endpoint] = [*self.libvirt, *([self.docker] if self.docker else [])]
        for endpoint in endpoints:
            self.inventory.replace_endpoint(self.name, endpoint.endpoint,
                                            endpoint.list_guests())

    # -- actions ------------------------------------------------------------------------
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

    def perform(self, guest: Guest, action: Action | str,
                enable: bool = True) -> Guest | None:
        """Run one lifecycle action; returns the guest's new record (None if it is gone)."""
        action = Action(action)
        self._check_writable(action.describe(guest.name, enable), guest.name)
        endpoint = self._endpoint_for(guest)
        try:
            endpoint.perform(guest, action, enable)
        except EndpointHung as exc:
            if exc.pending is None:  # refused before it was sent: nothing will happen
                raise
            raise ActionTimedOut(self.name, guest.name, action, self.timeout,
                                 exc.pending) from None
        fresh = endpoint.lookup(guest.id)
        if fresh is None:
            self.inventory.remove_id(self.name, guest.id)
        else:
            self.inventory.upsert(fresh)
        return fresh

    def lookup(self, guest: Guest) -> Guest | None:
        """The guest's record now, from its daemon; None when it is gone."""
        return self._endpoint_for(guest).lookup(guest.id)

    def dumpxml(self, guest: Guest, *, inactive: bool = False) -> str:
        endpoint = self._endpoint_for(guest)
        if isinstance(endpoint, DockerEndpoint):
            return endpoint.inspect_json(guest)
        return endpoint.dumpxml(guest, inactive=inactive)

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

    # -- definitions (the XML editor, `define`, `history`/`restore`) ----------------------
    def _libvirt_named(self, endpoint: str) -> LibvirtEndpoint:
        for candidate in self.libvirt:
            if candidate.endpoint == endpoint or not endpoint:
                return candidate
        raise HostError(self.name, f"{endpoint or 'libvirt'} is not connected")

    def definition(self, ref: DefinitionRef, *, live: bool = False) -> str:
        """The persistent (inactive) definition, or the live XML, from the daemon."""
        endpoint = self._libvirt_named(ref.endpoint)
        if ref.kind == "network":
            return endpoint.network_xml(ref.name, inactive=not live)
        return endpoint.xml_by_uuid(ref.uuid, ref.name, inactive=not live)

    def _current(self, ref: DefinitionRef) -> str:
        """The definition as it is now; "" when it was undefined meanwhile."""
        endpoint = self._libvirt_named(ref.endpoint)
        try:
            if ref.kind == "network":
                return endpoint.network_xml(ref.name, inactive=True)
            return endpoint.xml_by_uuid(ref.uuid, ref.name, inactive=True)
        except GuestError as exc:
            if exc.missing:
                return ""
            raise

    def _document(self, text: str, kind: str, name: str | None) -> Any:
        """The parsed root of a definition: well-formed and of the expected kind."""
        from tuivirt.backends import domxml

        problem = domxml.check_well_formed(text)
        if problem is not None:
            raise GuestError(self.name, name, f"XML is not well-formed: {problem}")
        root = domxml.parse(text)
        if root.tag != kind:
            raise GuestError(self.name, name, f"expected a <{kind}> document, got "
                             f"<{root.tag}>")
        return root

    def apply_definition(self, ref: DefinitionRef, base: str, text: str, *,
                         new: bool = False, check_identity: bool = True) -> Applied:
        """Define an edited buffer: checked, compared with what the host has, backed up.

        `base` is the definition the buffer started from. When the host's definition is
        no longer `base` (someone else defined it meanwhile), DefinitionChanged carries
        the current one and nothing is written; the caller shows the diff and may apply
        again with the current one as base. `new` defines a fresh object (clone, import).
        `check_identity` False lets a file that omits the uuid redefine (`tuivirt define`).
        """
        from tuivirt import backups, xmltools

        root = self._document(text, ref.kind, ref.name)
        name = (root.findtext("name") or "").strip()
        if not new and check_identity:
            wrong = xmltools.identity_problem(base, text, ref.kind)
            if wrong is not None:
                raise GuestError(self.name, ref.name, wrong)
        self._check_writable(f"define {name or ref.name}", name or ref.name)
        endpoint = (self.libvirt_for_type(root.get("type", "")) if new and ref.kind == "domain"
                    else self._libvirt_named(ref.endpoint))
        backup = None
        if not new:
            current = self._current(ref)
            if current != base:
                raise DefinitionChanged(self.name, ref.name, current)
            if current:
                backup = str(backups.save(self.name, ref.name, current, ref.kind))
        if ref.kind == "network":
            defined = endpoint.define_network(text)
            fresh = DefinitionRef(self.name, "network", defined, endpoint.endpoint)
            return Applied(ref=fresh, xml=endpoint.network_xml(defined, inactive=True),
                           backup=backup)
        guest = endpoint.define(text)
        self.inventory.upsert(guest)
        fresh = DefinitionRef(self.name, "domain", guest.name, guest.endpoint, guest.id)
        return Applied(ref=fresh, xml=endpoint.xml_by_uuid(guest.id, guest.name,
                                                           inactive=True),
                       backup=backup, guest=guest)

    def define(self, xml: str) -> tuple[Guest, str | None]:
        """Define a domain from a file (`tuivirt define`): new, or over the same name.

        A redefinition goes through apply_definition with the host's current definition
        as base, so it is validated and backed up the same way as an edit.
        """
        root = self._document(xml, "domain", None)
        name = (root.findtext("name") or "").strip()
        self._check_writable(f"define {name or 'a domain'}", name or None)
        endpoint = self.libvirt_for_type(root.get("type", ""))
        previous = next((g for g in self.inventory.guests(self.name)
                         if g.name == name and g.endpoint == endpoint.endpoint
                         and g.persistent), None)
        if previous is None:
            with contextlib.suppress(HostError):
                # The inventory may not know it (CLI): ask the daemon.
                for guest in endpoint.list_guests():
                    if guest.name == name and guest.persistent:
                        previous = guest
        ref = DefinitionRef(self.name, "domain", name, endpoint.endpoint,
                            previous.id if previous else "")
        if previous is None:
            applied = self.apply_definition(ref, "", xml, new=True)
        else:
            # A file may drop the uuid (libvirt then matches by name): only the name and
            # the uuid it states, if any, must agree with the guest's.
            uuid = (root.findtext("uuid") or "").strip()
            if uuid and uuid.lower() != previous.id.lower():
                raise GuestError(self.name, name, f"a domain named {name!r} exists with "
                                 f"uuid {previous.id}; this XML says {uuid}")
            applied = self.apply_definition(ref, self.definition(ref), xml,
                                            check_identity=False)
        assert applied.guest is not None
        return applied.guest, applied.backup

    def networks(self) -> list[Network]:
        """Every network once (the QEMU and LXC drivers of one host share them)."""
        seen: dict[str, Network] = {}
        for endpoint in self.libvirt:
            for net in endpoint.list_networks():
                seen.setdefault(net.uuid, net)
        return sorted(seen.values(), key=lambda n: n.name)

    def network_action(self, net: Network, action: str, enable: bool = True) -> None:
        what = {"stop": "stop", "start": "start", "undefine": "undefine"}.get(action, action)
        self._check_writable(f"{what} network {net.name}", net.name)
        self._libvirt_named(net.endpoint).network_action(net.name, action, enable)

    # -- consoles -----------------------------------------------------------------------
    def open_console(self, guest: Guest, buffer: ConsoleBuffer, *, force: bool = False,
                     via: str = "auto", cols: int = 80, rows: int = 24) -> Transport:
        """Open the guest's console into `buffer`: libvirt stream, Docker, or SSH PTY.

        via "auto" prefers the libvirt stream and falls back to `virsh console` over SSH
        when the host's libvirt cannot be reached; "ssh" asks for the fallback itself.
        """
        from tuivirt.backends.console import DockerConsole, LibvirtConsole, SSHConsole

        self.ensure_connected()  # `tuivirt console`: F5 after its daemon came back
        # A console is a keyboard on the guest: a read-only host refuses it like any change.
        self._check_writable(f"open the console of {guest.name} (a console takes input)",
                             guest.name)
        if guest.kind == DOCKER:
            if self.docker is None or self.docker.api is None:
                raise HostError(self.name, "Docker is not connected")
            return DockerConsole(self.name, guest.name, self.docker.api, guest.id, buffer,
                                 cols, rows)
        endpoint = next((e for e in self.libvirt if e.endpoint == guest.endpoint), None)
        if via == "ssh" or (endpoint is None and via == "auto"):
            if self.tunnel is None or not self.tunnel.connected:
                raise HostError(self.name, "no SSH connection for a console fallback"
                                if via == "ssh" else f"{guest.endpoint} is not connected")
            return SSHConsole(self.name, guest.name, self.tunnel, guest.endpoint or
                              "qemu:///system", buffer, cols, rows, force=force)
        if endpoint is None:
            raise HostError(self.name, f"{guest.endpoint} is not connected")
        stream = endpoint.open_console(guest, force=force)
        how = "libvirt console stream"
        if endpoint.uri != endpoint.endpoint:
            how += " over ssh"
        return LibvirtConsole(self.name, guest.name, stream, buffer,
                              f"{how} ({guest.endpoint})")

    def read_file(self, path: str, limit: int = 1 << 20) -> str:
        """A small text file on the host itself (a native LXC config): locally or over SSH."""
        import shlex

        if self.tunnel is not None:
            status, out, err = self.tunnel.run(f"head -c {limit + 1} -- {shlex.quote(path)}")
            if status != 0:
                raise HostError(self.name, f"{path}: {err.strip() or f'exit {status}'}")
            text = str(out)
        elif not self._local:
            raise HostError(self.name, "files on this host cannot be read (no ssh)")
        else:
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(limit + 1)
            except OSError as exc:
                raise HostError(self.name, f"{path}: {exc.strerror or exc}") from None
        if len(text) > limit:
            raise HostError(self.name, f"{path}: larger than {limit // 1024} KiB: not a "
                            "native config")
        return text

    def import_native(self, path: str, native_format: str = "lxc-tools") -> str:
        """A native config on this host converted to domain XML by libvirt (not defined)."""
        config = self.read_file(path)
        return self.libvirt_for_type("lxc").xml_from_native(native_format, config)

    def facts(self) -> HostFacts:
        """Versions and virtualisation support, for `tuivirt hosts`."""
        host = self.host
        if not self.reachable:
            return HostFacts(name=self.name, state=self.state, reason=self.reason,
                             read_only=host.read_only, label=host.label,
                             endpoints=tuple(self.endpoint_status.items()))
        libvirt_version = None
        hypervisors: list[tuple[str, str]] = []
        kvm_usable: bool | None = None
        flags: set[str] = set()
        flags_known = False
        for endpoint in self.libvirt:
            try:
                info = endpoint.facts()
            except HostError:
                continue
            libvirt_version = info.get("libvirt_version", libvirt_version)
            hypervisors.append((info["driver"], info.get("hypervisor_version", "?")))
            if "cpu_virt_flags" in info:
                flags.update(info["cpu_virt_flags"])
                flags_known = True
            if "kvm_usable" in info:
                kvm_usable = bool(info["kvm_usable"]) or bool(kvm_usable)
        if not flags_known or kvm_usable is None:
            cpu_flags, kvm = self._probe_cpu()
            if not flags_known:
                flags = cpu_flags
            if kvm_usable is None:
                kvm_usable = kvm
        docker_version = None
        if self.docker is not None:
            with contextlib.suppress(HostError):
                docker_version = self.docker.facts().get("docker_version")
        return HostFacts(
            name=self.name, state=self.state, reason=self.reason,
            libvirt_version=libvirt_version, hypervisors=tuple(hypervisors),
            docker_version=docker_version, kvm_usable=kvm_usable,
            cpu_virt_flags=tuple(sorted(flags)), read_only=host.read_only, label=host.label,
            endpoints=tuple(self.endpoint_status.items()))

    @property
    def _local(self) -> bool:
        """This machine is the host (no ssh, no remote libvirt URI, not the demo)."""
        return not self.host.demo and not any(
            "://" in u and not u.split("://")[1].startswith("/") for u in self.host.libvirt)

    def _probe_cpu(self) -> tuple[set[str], bool | None]:
        """CPU flags and /dev/kvm, read on the host itself (locally or over SSH)."""
        script = ("grep -owE 'vmx|svm' /proc/cpuinfo | sort -u; "
                  "if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo kvm:yes; "
                  "else echo kvm:no; fi")
        if self.tunnel is not None:
            try:
                _status, out, _err = self.tunnel.run(script)
            except HostError:
                return set(), None
        elif not self._local:
            return set(), None  # a remote URI without ssh: we cannot look at its CPU
        else:
            import os
            import subprocess

            try:
                out = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                                     timeout=5, check=False).stdout
            except (OSError, subprocess.TimeoutExpired):
                return set(), os.access("/dev/kvm", os.R_OK | os.W_OK)
        lines = out.split()
        return {w for w in lines if w in ("vmx", "svm")}, "kvm:yes" in lines


class Fleet:
    """Every host session of a config, connected in parallel."""

    def __init__(self, config: Config, *, live: bool = False,
                 inventory: Inventory | None = None) -> None:
        self.config = config
        self.inventory = inventory or Inventory()
        self.sessions = {h.name: HostSession(h, self.inventory, timeout=config.timeout,
                                             live=live) for h in config.hosts}

    def session(self, name: str) -> HostSession:
        try:
            return self.sessions[name]
        except KeyError:
            raise TuivirtError(unknown_host(name, self.sessions)) from None

    def connect(self, names: Iterable[str] | None = None,
                deadline: float | None = None) -> dict[str, str]:
        """Connect the named hosts (all by default) in parallel; {host: error} for failures.

        A host that has not answered by the deadline is reported as timed out; its thread
        is left to finish on its own, so it never delays the others.
        """
        chosen = list(self.sessions) if names is None else list(dict.fromkeys(names))
        # SSH (bounded by the timeout), then the endpoints in parallel (each bounded by
        # it): a host that still has not answered is stuck somewhere we did not foresee.
        budget = deadline if deadline is not None else 2 * self.config.timeout + 2
        outcome: dict[str, str | None] = {}

        def connect(name: str) -> None:
            try:
                self.sessions[name].connect()
            except HostError as exc:
                outcome[name] = exc.message
            except Exception as exc:  # a bug or an unexpected library error: report it
                outcome[name] = f"{type(exc).__name__}: {exc}"
            else:
                outcome[name] = None

        # Plain daemon threads: one that hangs on a dead host is simply left behind.
        threads = {name: threading.Thread(target=connect, args=(name,), daemon=True,
                                          name=f"connect-{name}") for name in chosen}
        for thread in threads.values():
            thread.start()
        end = time.monotonic() + budget
        errors: dict[str, str] = {}
        for name, thread in threads.items():
            thread.join(max(0.0, end - time.monotonic()))
            if thread.is_alive():
                errors[name] = f"timed out after {budget:.0f} s (host not answering)"
                self.inventory.set_host(name, HostState.LOST, errors[name])
            elif outcome.get(name) is not None:
                errors[name] = str(outcome[name])
        return errors

    def endpoint_problems(self, names: Iterable[str] | None = None) -> dict[str, list[str]]:
        """{host: [why each endpoint is down]} for hosts that are up with endpoints down."""
        chosen = list(self.sessions) if names is None else list(names)
        problems: dict[str, list[str]] = {}
        for name in chosen:
            session = self.sessions[name]
            if session.reachable:
                down = [st for st in session.endpoint_status.values() if st != "ok"]
                if down:
                    problems[name] = down
        return problems

    def start(self, gate: threading.Event | None = None) -> None:
        for session in self.sessions.values():
            session.start(gate)

    def close(self) -> None:
        for session in self.sessions.values():
            with contextlib.suppress(Exception):
                session.close()
