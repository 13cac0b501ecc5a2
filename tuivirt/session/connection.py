"""The host's life: connect, follow events, notice loss, reconnect with backoff.

    disconnected -> connecting -> connected/degraded -> lost -> reconnecting -> ...

Two threads while live: the event thread applies daemon events and alone changes the
endpoint list; the upkeep thread probes, samples, relists and reopens, reporting to it
through the queue, so the event thread never waits on a daemon."""

from __future__ import annotations

import functools
import math
import random
import threading
import time

from tuivirt.backends.deadline import in_place
from tuivirt.backends.docker import DockerEndpoint
from tuivirt.backends.libvirt import LibvirtEndpoint
from tuivirt.errors import (
    AnsweredLate,
    EndpointHung,
    HostError,
)
from tuivirt.model import Guest, HostState
from tuivirt.session.core import (
    DOCKER_EVENTS,
    MAX_BACKOFF,
    PROBE_BEAT,
    RELIST_EVERY,
    STATS_EVERY,
    UPKEEP_TICK,
    on_beat,
)
from tuivirt.session.endpoints import Endpoints
from tuivirt.session.events import (
    ANY,
    Endpoint,
    EndpointLost,
    GuestChanged,
    HostLost,
    Recovered,
    Reopened,
    Stop,
)
from tuivirt.session.logs import Logs
from tuivirt.session.stats import Stats


class Connection(Endpoints, Stats, Logs):
    """Connecting, serving events and reconnecting: the session's state machine."""

    def connect(self, ssh_deadline: float | None = None) -> None:
        """Open the SSH tunnel (if any) and every endpoint, and list them all.

        Blocking; raises HostError when no endpoint answers. Endpoints that fail while
        others work leave the host DEGRADED, with the reasons in endpoint_status.
        ssh_deadline (monotonic): a command's; SSH handshakes refused or dropped by a busy
        server are tried again until then (the live session has its own backoff).
        """
        with self._lock:
            self._generation += 1
            self._wake.set()  # an upkeep thread of the last generation ends now
            generation = self._generation
            self._teardown(f"host {self.name}: reconnecting")
            self._set_state(HostState.RECONNECTING if self.state in (
                HostState.LOST, HostState.RECONNECTING) else HostState.CONNECTING)
            try:
                self._connect(generation, ssh_deadline)
            except HostError as exc:
                self._teardown(f"host {self.name} lost: {exc.message}")
                self._set_state(HostState.LOST, exc.message)
                raise

    def _connect(self, generation: int, ssh_deadline: float | None = None) -> None:
        host = self.host
        if host.ssh is not None:
            from tuivirt.backends.ssh import SSHTunnel  # asyncio + asyncssh: only when used

            self.tunnel = SSHTunnel(host, timeout=self.timeout,
                                    on_lost=lambda r: self._lost(generation, r),
                                    keepalive=self.keepalive_every)
            self.tunnel.connect(ssh_deadline)
        self.endpoint_status = {}
        self._health_dirty = True
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

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._events.put(Stop())
        # A connect stuck on a hung host holds the lock: do not hang the caller on it.
        if not self._lock.acquire(timeout=1.0):
            return
        try:
            self._teardown("closed")
            self._set_state(HostState.DISCONNECTED)
        finally:
            self._lock.release()

    def start(self, gate: threading.Event | None = None, *, keep: bool = False) -> None:
        """Run the session in the background: connect, follow events, reconnect when lost.

        A heavy session first waits (at most a second) for `gate`: the UI opens it once
        the first rows are on screen, so big imports do not fight them for the GIL.
        keep: go live on the connection made already (`tuivirt console`: its console
        stays open), not on a new one.
        """
        self.live = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(gate, keep),
                                        name=f"session-{self.name}", daemon=True)
        self._thread.start()

    def retry_now(self) -> bool:
        """The user asks (F5): open the endpoints that are down now, not at their backoff.
        True if some will be (the news tells when they are back)."""
        down = [spec for spec, status in self.endpoint_status.items() if status != "ok"]
        if not self.live or not self.reachable:
            return False
        for spec in down:
            self._events.put(Recovered(spec))
        return bool(down)

    def _lost(self, generation: int, reason: str) -> None:
        """The whole host is gone (its SSH link)."""
        if self.live:
            self._events.put(HostLost(generation, reason))
        elif generation == self._generation and self.reachable:
            # No background session serves events (`tuivirt console`): say it now; the
            # next call reconnects (ensure_connected). No lock: this runs on the SSH
            # loop's thread, which a connect holding the lock may be waiting for. Its
            # consoles end now (that returns at once): a stream over a dead link may
            # never say so by itself.
            self._set_state(HostState.LOST, reason)
            self.end_consoles(f"host {self.name} lost: {reason}")

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
                lost = "; ".join(self.endpoint_status.values())
                self._teardown(f"host {self.name} lost: {lost}")
                self._set_state(HostState.LOST, lost)
                return
            self._publish_state()

    def _run(self, gate: threading.Event | None = None, keep: bool = False) -> None:
        if gate is not None and self.heavy:
            gate.wait(1.0)
        backoff = 1.0
        from tuivirt.backends.libvirt.loop import event_loop_running

        # Libvirt's events were subscribed at connect only with its event loop running.
        keep = keep and self.reachable and (event_loop_running() or not self.libvirt)
        while not self._stop.is_set():
            if keep:
                keep = False
                with self._lock:
                    self._follow_connection()
            else:
                try:
                    self.connect()
                except HostError:
                    if self._stop.wait(backoff):
                        return
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
            backoff = 1.0
            generation = self._generation
            self._start_upkeep(generation)
            reason = self._serve(generation)
            if self._stop.is_set():
                return
            with self._lock:
                self._teardown(f"host {self.name} lost: {reason}")
                self._set_state(HostState.LOST, reason)
            if self._stop.wait(1.0):
                return

    def _follow_connection(self) -> None:
        """Live from the connection made before: Docker's events now (libvirt's were
        subscribed at connect), and what was down then is retried with backoff."""
        if self.docker is not None:
            self._follow_docker(self.docker, self._generation)
        for spec, status in list(self.endpoint_status.items()):
            if status != "ok" and spec not in self._retry:
                self._endpoint_down(spec, status)

    def _serve(self, generation: int) -> str:
        """Apply events until the host is lost; returns why.

        Only this thread changes the endpoint lists and statuses while live; the upkeep
        thread (probes, stats, relisting, reopening) reports to it through the queue.
        """
        while not self._stop.is_set():
            news = self._events.get()
            if news.generation not in (generation, ANY):
                continue  # from an earlier connection
            if isinstance(news, Stop):
                return "stopped"
            if isinstance(news, HostLost):
                return news.reason
            with self._lock:
                if isinstance(news, EndpointLost):
                    gone = news.endpoint
                    if self._current_endpoint(gone.endpoint) is gone:
                        self._endpoint_down(gone.endpoint, news.reason)
                elif isinstance(news, Reopened):
                    self._retrying.discard(news.spec)
                    if isinstance(news.outcome, str):
                        self._endpoint_down(news.spec, news.outcome)
                    else:
                        self._endpoint_up(news.spec, news.outcome)
                elif isinstance(news, Recovered):  # a hung daemon answered: retry now
                    if news.spec in self._retry:
                        self._retry[news.spec] = (0.0, self._retry[news.spec][1])
                        self._wake.set()
                    continue
                else:
                    self._apply_event(news)
                    continue
                if self.tunnel is not None and not self.tunnel.connected:
                    return "ssh connection lost"
                if not any(st == "ok" for st in self.endpoint_status.values()):
                    return "; ".join(self.endpoint_status.values())
                self._publish_state()
        return "stopped"

    def _apply_event(self, news: GuestChanged) -> None:
        """A daemon event: look the guest up again (bounded); a failure downs its endpoint."""
        endpoint, ident, event = news.endpoint, news.guest_id, news.event
        if self._current_endpoint(endpoint.endpoint) is not endpoint:
            return  # an endpoint closed since: its relisting covers this
        if isinstance(endpoint, DockerEndpoint) and event.split(":")[0] not in DOCKER_EVENTS:
            return
        guest: Guest | None
        try:
            if isinstance(endpoint, LibvirtEndpoint):
                guest = endpoint.lookup(ident, refresh_facts=event in ("defined",
                                                                       "undefined"))
            else:
                guest = endpoint.lookup(ident)
        except HostError as exc:
            self._events.put(EndpointLost(news.generation, endpoint, exc.message))
            return
        self._answered(endpoint.endpoint)
        if guest is None:
            self.inventory.remove_id(self.name, ident)
        else:
            self.inventory.upsert(guest)

    def _start_upkeep(self, generation: int, replacing: object | None = None) -> bool:
        """An upkeep thread for this connection; the one before it ends. `replacing`: the
        token of one left in a call to a hung daemon, replaced only if it is still the
        upkeep of the current connection (a reconnect may have made a new one since).
        False when it was not."""
        with self._upkeep_lock:
            if replacing is not None and (replacing is not self._upkeep_token
                                          or generation != self._generation
                                          or self._stop.is_set()):
                return False
            token = object()
            self._upkeep_token = token
            threading.Thread(target=self._upkeep, args=(generation, token, replacing is None),
                             name=f"upkeep-{self.name}", daemon=True).start()
        return True

    def _upkeep(self, generation: int, token: object, first: bool = True) -> None:
        """Periodic work off the event thread: reopen endpoints that are down (with
        backoff), probe the others, sample CPU, relist now and then (the safety net).

        The probes' calls are made on this thread (`in_place`), not handed to a call
        thread: a call that outlives its deadline downs its endpoint at the deadline,
        and a new upkeep thread takes over while this one waits for the answer.
        """
        every = max(STATS_EVERY, self.probe_every)
        # On the fleet's beat, in a random slot of the period: a fleet that connected at
        # once does not probe all at once, and the hosts sharing a slot probe together.
        now = time.monotonic()
        slots = max(1, round(every / PROBE_BEAT))
        next_probe = on_beat(now) + PROBE_BEAT * random.randrange(slots)
        last_list = now - random.uniform(0, every)
        if first:  # a replacement keeps the samples: the next CPU % needs the last
            self._cpu_samples.clear()
        while True:
            if token is not self._upkeep_token:
                return  # replaced
            # Asleep until the next work is due (a probe, a retry), not on a fixed tick:
            # a fleet of 100 idle hosts woke 400 times a second. A retry scheduled by
            # the event thread, a stop or a reconnect wakes it early. The probe's wake
            # is not rounded up to the tick: it must fall on its beat.
            now = time.monotonic()
            retries = [max(UPKEEP_TICK, at - now) for spec, (at, _b) in list(self._retry.items())
                       if spec not in self._retrying]
            self._wake.wait(min(every, max(0.0, next_probe - now), *retries))
            self._wake.clear()
            if self._stop.is_set() or generation != self._generation \
                    or token is not self._upkeep_token:
                break
            now = time.monotonic()
            for spec, (due, _backoff) in list(self._retry.items()):
                if due <= now and spec not in self._retrying:
                    self._retrying.add(spec)
                    self._reopen(spec, generation)
            if now < next_probe:
                continue
            # The next one in the same slot; periods that went by (a probe that took its
            # whole timeout) are skipped, not made up for in a burst.
            next_probe += every * (math.floor((now - next_probe) / every) + 1)
            relist = now - last_list > RELIST_EVERY
            if relist:
                last_list = now
            endpoints: list[Endpoint] = [*self.libvirt, *([self.docker] if self.docker else [])]
            for endpoint in endpoints:
                if token is not self._upkeep_token:
                    return  # left behind in a hung call: the new thread goes on
                try:
                    with in_place(functools.partial(self._probe_late, generation, token,
                                                    endpoint)):
                        self._upkeep_endpoint(endpoint, relist)
                except AnsweredLate:
                    return  # told at its deadline (_probe_late): the new thread goes on
                except HostError as exc:
                    self._events.put(EndpointLost(generation, endpoint, exc.message))

    def _upkeep_endpoint(self, endpoint: Endpoint, relist: bool) -> None:
        """Probe one endpoint (sampling CPU where that proves it answers too), and relist
        it when due. The probe's round trip is the host's latency (_sample_cpu times its
        own call; the relisting grows with the guests: it only confirms)."""
        if isinstance(endpoint, LibvirtEndpoint):
            if not endpoint.alive():
                raise HostError(self.name, "the connection closed")
            if not self._sample_cpu(endpoint):
                self._probe(endpoint)
        elif not (isinstance(endpoint, DockerEndpoint)
                  and self._sample_containers(endpoint)):
            self._probe(endpoint)  # no container runs: nothing proved it answers
        if relist:
            self.inventory.replace_endpoint(self.name, endpoint.endpoint,
                                            endpoint.list_guests())
            self._answered(endpoint.endpoint)

    def _probe_late(self, generation: int, token: object, endpoint: Endpoint,
                    late: EndpointHung) -> None:
        """An upkeep call outlived its deadline (the watch thread says so, at once): a new
        upkeep thread goes on with the other endpoints and the retries while that one
        waits for the answer, and the endpoint is down now."""
        if self._start_upkeep(generation, replacing=token):
            self._events.put(EndpointLost(generation, endpoint, late.message))
