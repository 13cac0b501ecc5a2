"""A host's endpoints one by one: open, follow, mark up or down, reopen with backoff."""

from __future__ import annotations

import contextlib
import re
import threading
import time

from tuivirt.backends.docker import DockerEndpoint
from tuivirt.backends.libvirt import LibvirtEndpoint
from tuivirt.errors import (
    EndpointHung,
    HostError,
)
from tuivirt.session.core import ENDPOINT_MAX_BACKOFF, SessionCore
from tuivirt.session.events import Endpoint, EndpointLost, GuestChanged, Reopened

#: Where libvirtd listens on a remote host reached through `ssh = ...`.
REMOTE_LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"
_LOCAL_URI_RE = re.compile(r"^(?P<driver>[a-z0-9]+):///(?P<path>[a-z]+)(?P<query>\?.*)?$")


def tunnel_uri(uri: str, socket_path: str) -> str | None:
    """qemu:///system on a remote host -> qemu+unix:///system?socket=LOCAL; None if not local."""
    match = _LOCAL_URI_RE.match(uri)
    if not match:
        return None
    return f"{match['driver']}+unix:///{match['path']}?socket={socket_path}"


def _close_bounded(endpoint: Endpoint) -> None:
    """Close within the endpoint's deadline: closing a libvirt connection asks the daemon,
    and a hung one would hold the caller (a CLI command's exit) for ever."""
    deadline = endpoint.deadline
    if deadline is None or deadline.hung:
        # Hung: a call is inside, so close() only marks it; the last call out closes.
        endpoint.close()
        return
    with contextlib.suppress(EndpointHung):
        deadline.run("close", endpoint.close)


class Endpoints(SessionCore):
    """Opening and closing the endpoints (libvirt URIs, the Docker URL) of a host."""

    def _open_endpoint(self, spec: str, generation: int) -> Endpoint:
        """Open one endpoint, follow its events, list its guests into the inventory."""
        endpoint: Endpoint
        if spec == self.host.docker and spec not in self.host.libvirt:
            endpoint = self._docker_endpoint(spec)
            try:
                endpoint.open()
                started = time.perf_counter()
                guests = endpoint.list_guests()
            except BaseException:
                endpoint.close()
                raise
        else:
            from tuivirt.backends.libvirt.loop import event_loop_running

            endpoint = self._libvirt_endpoint(spec)  # may forward a socket: may fail
            try:
                endpoint.open(events=self.live)
                if self.live or event_loop_running():
                    self._watch_libvirt(endpoint, generation)
                started = time.perf_counter()
                guests = endpoint.list_guests()
            except BaseException:
                endpoint.close()
                raise
        self._answered(spec, time.perf_counter() - started)
        self.inventory.replace_endpoint(self.name, endpoint.endpoint, guests)
        if isinstance(endpoint, DockerEndpoint) and self.live:
            self._follow_docker(endpoint, generation)
        return endpoint

    def _follow_docker(self, endpoint: DockerEndpoint, generation: int) -> None:
        self._docker_thread = threading.Thread(
            target=self._watch_docker, args=(endpoint, generation),
            name=f"docker-events-{self.name}", daemon=True)
        self._docker_thread.start()

    def _endpoint_up(self, spec: str, endpoint: Endpoint) -> None:
        old = self._current_endpoint(spec)
        if old is not None and old is not endpoint:
            self._detach(old)
        if isinstance(endpoint, DockerEndpoint):
            self.docker = endpoint
        elif isinstance(endpoint, LibvirtEndpoint):
            order = self.host.libvirt
            self.libvirt = sorted([*self.libvirt, endpoint],
                                  key=lambda e: order.index(e.endpoint)
                                  if e.endpoint in order else len(order))
        self._set_endpoint_status(spec, "ok")
        self._retry.pop(spec, None)

    def _endpoint_down(self, spec: str, reason: str) -> None:
        """Mark an endpoint down (its rows stale), close it, and retry it with backoff."""
        old = self._current_endpoint(spec)
        if old is not None:
            self._detach(old)
        if not reason.startswith(spec):
            reason = f"{spec}: {reason}"
        self.end_consoles(reason, spec)
        self._set_endpoint_status(spec, reason)
        _next, backoff = self._retry.get(spec, (0.0, 0.5))
        backoff = min(backoff * 2, ENDPOINT_MAX_BACKOFF)
        self._retry[spec] = (time.monotonic() + backoff, backoff)
        self._wake.set()

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
            if self.live:  # `tuivirt console` goes live after connecting (start(keep=))
                self._events.put(GuestChanged(generation, endpoint, uuid, event))

        def on_close(reason: str) -> None:
            self._endpoint_lost(generation, endpoint, reason)

        def on_network_event(name: str) -> None:
            self.inventory.network_changed(self.name, name)

        tunnelled = endpoint.uri != endpoint.endpoint  # carried by our SSH connection
        endpoint.watch(on_event=on_event, on_close=on_close,
                       keepalive=None if tunnelled else (5, 3),
                       on_network_event=on_network_event if live else None)

    def _watch_docker(self, docker: DockerEndpoint, generation: int) -> None:
        try:
            docker.watch(lambda cid, action: self._events.put(
                GuestChanged(generation, docker, cid, action)))
        except HostError as exc:
            self._endpoint_lost(generation, docker, exc.message)
            return
        if docker.opened:  # the stream ended without us closing it
            self._endpoint_lost(generation, docker, "event stream ended")

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

    def _teardown(self, reason: str = "") -> None:
        """Close everything this session opened; consoles are told `reason`."""
        self.end_consoles(reason or f"host {self.name}: disconnected")
        opened: list[Endpoint] = [*self.libvirt, *([self.docker] if self.docker else [])]
        for endpoint in opened:
            _close_bounded(endpoint)
        self.libvirt = []
        self.docker = None
        if self.tunnel is not None:
            self.tunnel.close()
            self.tunnel = None

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
        self._events.put(Reopened(generation, spec, found))

    def _endpoint_lost(self, generation: int, endpoint: Endpoint, reason: str) -> None:
        """One endpoint's connection closed under us (daemon killed, restarted...)."""
        if self.live:
            self._events.put(EndpointLost(generation, endpoint, reason))
        elif generation == self._generation and self._current_endpoint(
                endpoint.endpoint) is endpoint:
            # `tuivirt console`: say so now (on libvirt's event thread: no closing here);
            # ensure_connected opens it again.
            self._set_endpoint_status(endpoint.endpoint, f"{endpoint.endpoint}: {reason}")
            self.end_consoles(f"{endpoint.endpoint}: {reason}", endpoint.endpoint)
            if self.reachable:
                self._publish_state()
