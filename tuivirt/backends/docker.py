"""Docker backend: containers as guests.

The calls made all the time (ping, listing, inspect, stats) speak the engine API
directly on a kept-open socket (docker_wire) when the daemon is a unix socket, local or
forwarded over SSH; everything else goes through the Docker SDK's low-level API client,
made on first use with the version the ping told (no `GET /version`)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from tuivirt.actions import Action
from tuivirt.backends.deadline import Deadline, bounded
from tuivirt.backends.docker_wire import DockerWire, WireError, version_text
from tuivirt.errors import GuestError, HostError
from tuivirt.model import DOCKER, Guest, GuestState

if TYPE_CHECKING:
    from tuivirt.create.container import ContainerSpec

_MIB = 1024 * 1024
_AUTOSTART_POLICIES = {"always", "unless-stopped"}


def _message(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return str(explanation.decode() if isinstance(explanation, bytes) else explanation)
    text = str(exc)
    # requests' connection errors are long and nested; keep their last useful part.
    for marker in ("Connection refused", "No such file or directory", "timed out",
                   "Permission denied"):
        if marker in text:
            return marker.lower() if marker != "Connection refused" else "connection refused"
    return text


def _state(state: dict[str, Any]) -> tuple[GuestState, str]:
    status = str(state.get("Status", ""))
    if state.get("Paused"):
        return GuestState.PAUSED, ""
    if state.get("Restarting"):
        return GuestState.STARTING, "restarting"
    return {
        "running": (GuestState.RUNNING, ""),
        "paused": (GuestState.PAUSED, ""),
        "created": (GuestState.SHUTOFF, "created"),
        "exited": (GuestState.SHUTOFF, f"exited ({state.get('ExitCode', '?')})"),
        "removing": (GuestState.STOPPING, "removing"),
        "dead": (GuestState.CRASHED, "dead"),
        "restarting": (GuestState.STARTING, "restarting"),
    }.get(status, (GuestState.UNKNOWN, status))


def _started_at(value: str | None) -> float | None:
    if not value or value.startswith("0001-"):
        return None
    try:
        # Docker gives nanoseconds; Python's parser takes at most microseconds.
        head, _, frac = value.rstrip("Z").partition(".")
        return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00").timestamp()
    except ValueError:
        return None


class DockerEndpoint:
    """One Docker daemon of a host."""

    has_definitions: ClassVar[bool] = False
    has_networks: ClassVar[bool] = False

    def __init__(self, host: str, url: str, *, display_url: str | None = None,
                 timeout: float = 10.0, deadline: Deadline | None = None) -> None:
        self.host = host
        self.deadline = deadline
        self.url = url
        self.endpoint = display_url or url
        self.timeout = timeout
        self._api: Any = None  # the SDK's client, made on first use
        self._api_lock = threading.Lock()
        self._opened = False
        self._events: Any = None
        self._discarded = False  # closed before an open that outlived its deadline returned
        # The unix socket's own connection (ping, listing, inspect, stats), or None: a
        # tcp:// daemon goes through the SDK for everything.
        self._wire: DockerWire | None = None

    @property
    def opened(self) -> bool:
        """Opened and not closed since (asks nothing of the daemon)."""
        return self._opened

    @property
    def api(self) -> Any:
        """The Docker SDK's client, None until opened and once closed. Made on first use
        (importing the SDK costs ~0.2 s): `tuivirt list` never needs it."""
        if not self._opened:
            return None
        with self._api_lock:
            if self._api is None and self._opened:
                self._api = self._make_api(self._wire.version if self._wire else None)
            return self._api

    def _make_api(self, version: tuple[int, int] | None) -> Any:
        import docker  # imported here: it costs ~0.2 s and only Docker hosts need it

        # The SDK's own socket timeout stays well above our deadline, so a call to a hung
        # daemon is answered by the deadline, whose pending outcome says if it landed.
        try:
            return docker.APIClient(base_url=self.url,
                                    timeout=max(1, round(self.timeout * 6)),
                                    version=version_text(version) if version else "auto")
        except Exception as exc:  # DockerException on connect/version negotiation
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None

    @bounded
    def open(self, *, events: bool = False) -> None:
        if self.url.startswith("unix://"):
            # One ping: the daemon is there, and which API version it speaks.
            wire = DockerWire(self.url.removeprefix("unix://"), self.timeout)
            try:
                wire.ping()
            except WireError as exc:
                wire.close()
                raise HostError(self.host, f"{self.endpoint}: {exc}") from None
            if self._discarded:  # given up on while it opened: nobody will close it
                wire.close()
                raise HostError(self.host, f"{self.endpoint}: opened too late")
            self._wire = wire
            self._opened = True
            return
        api = self._make_api(None)  # version="auto": asks the daemon
        if self._discarded:
            with contextlib.suppress(Exception):
                api.close()
            raise HostError(self.host, f"{self.endpoint}: opened too late")
        with self._api_lock:
            self._api = api
            self._opened = True

    def close(self) -> None:
        self._opened = False  # first: the event watcher then knows its end was ours
        self._discarded = True
        self.stop_events()
        wire, self._wire = self._wire, None
        if wire is not None:
            wire.close()
        with self._api_lock:
            api, self._api = self._api, None
        if api is not None:
            with contextlib.suppress(Exception):
                api.close()

    def _require(self) -> Any:
        api = self.api
        if api is None:
            raise HostError(self.host, f"{self.endpoint}: not connected")
        return api

    def _wire_ready(self, what: str) -> DockerWire | None:
        """The wire for a call (None: use the SDK); refused at once while an earlier SDK
        call is stuck in the daemon, as the deadline refuses its own calls."""
        if not self._opened:
            raise HostError(self.host, f"{self.endpoint}: not connected")
        if self.deadline is not None and self.deadline.hung:
            self.deadline.run(what, lambda: None)  # raises: a call is stuck
        return self._wire

    def _wire_error(self, exc: WireError) -> HostError:
        return HostError(self.host, f"{self.endpoint}: {exc}")

    def probe(self) -> None:
        """One round trip to the daemon: `GET /_ping` on the connection kept open,
        bounded by its socket's timeout (a tenth of the SDK's cost, no thread)."""
        wire = self._wire_ready("probe")
        if wire is None:
            self._sdk_ping()
            return
        try:
            wire.ping()
        except WireError as exc:
            raise self._wire_error(exc) from None

    @bounded
    def _sdk_ping(self) -> None:
        try:
            self._require().ping()
        except HostError:
            raise
        except Exception as exc:
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None

    def _record(self, info: dict[str, Any]) -> Guest:
        state, detail = _state(info.get("State", {}))
        host_config = info.get("HostConfig") or {}
        nano_cpus = host_config.get("NanoCpus") or 0
        quota, period = host_config.get("CpuQuota") or 0, host_config.get("CpuPeriod") or 0
        vcpus: float | None = None
        if nano_cpus:
            vcpus = nano_cpus / 1e9
        elif quota > 0 and period > 0:
            vcpus = quota / period
        memory = host_config.get("Memory") or 0
        policy = (host_config.get("RestartPolicy") or {}).get("Name") or "no"
        running = state in (GuestState.RUNNING, GuestState.PAUSED)
        return Guest(
            host=self.host, kind=DOCKER, name=str(info.get("Name", "")).lstrip("/"),
            id=str(info["Id"]), state=state, state_detail=detail,
            vcpus=vcpus, memory_mib=memory // _MIB if memory else None,
            autostart=policy in _AUTOSTART_POLICIES, persistent=True,
            image=(info.get("Config") or {}).get("Image"), endpoint=self.endpoint,
            started_at=_started_at((info.get("State") or {}).get("StartedAt")) if running
            else None,
        )

    def list_guests(self) -> list[Guest]:
        wire = self._wire_ready("list")
        if wire is None:
            return self._sdk_list()
        try:
            ids = [str(c["Id"]) for c in wire.containers() if "Id" in c]
            found = [wire.inspect(cid) for cid in ids]
        except WireError as exc:
            raise self._wire_error(exc) from None
        return [self._record(info) for info in found if info is not None and "Id" in info]

    def lookup(self, container_id: str) -> Guest | None:
        wire = self._wire_ready("lookup")
        if wire is None:
            return self._sdk_lookup(container_id)
        try:
            info = wire.inspect(container_id)
        except WireError as exc:
            raise self._wire_error(exc) from None
        return None if info is None or "Id" not in info else self._record(info)

    def stats(self, container_id: str) -> dict[str, Any] | None:
        """The container's resource counters now (one-shot); None when it is gone or
        stopped."""
        wire = self._wire_ready("stats")
        if wire is None:
            return self._sdk_stats(container_id)
        try:
            return wire.stats(container_id)
        except WireError as exc:
            raise self._wire_error(exc) from None

    @bounded
    def _sdk_stats(self, container_id: str) -> dict[str, Any] | None:
        from tuivirt.backends.docker_stats import one_shot_stats

        return one_shot_stats(self._require(), self.host, self.endpoint, container_id)

    @bounded
    def _sdk_list(self) -> list[Guest]:
        api = self._require()
        try:
            summaries = api.containers(all=True)
        except Exception as exc:
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None
        guests = []
        for summary in summaries:
            guest = self._sdk_lookup(summary["Id"])
            if guest is not None:
                guests.append(guest)
        return guests

    @bounded
    def _sdk_lookup(self, container_id: str) -> Guest | None:
        import docker.errors

        api = self._require()
        try:
            return self._record(api.inspect_container(container_id))
        except docker.errors.NotFound:
            return None
        except Exception as exc:
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None

    @bounded
    def perform(self, guest: Guest, action: Action, enable: bool = True) -> None:
        api = self._require()
        call = getattr(api, action.docker)  # the action's Docker API method (actions.py)
        try:
            if action is Action.AUTOSTART:
                # Docker's autostart is a restart policy: unless-stopped, or none.
                policy = ({"Name": "unless-stopped"} if enable
                          else {"Name": "no", "MaximumRetryCount": 0})
                call(guest.id, restart_policy=policy)
            else:
                call(guest.id)
        except Exception as exc:
            raise GuestError(self.host, guest.name, _message(exc)) from None

    def dumpxml(self, guest: Guest, *, inactive: bool = False) -> str:
        """A container has no XML: its `docker inspect` JSON (read-only in the editor)."""
        return self.inspect_json(guest)

    @bounded
    def inspect_json(self, guest: Guest) -> str:
        api = self._require()
        try:
            return json.dumps(api.inspect_container(guest.id), indent=2, sort_keys=True)
        except Exception as exc:
            raise GuestError(self.host, guest.name, _message(exc)) from None

    def watch(self, on_event: Callable[[str, str], None]) -> None:
        """Block, calling on_event(container id, action) for each container event.

        Returns when the stream ends (daemon gone, or stop_events()); the caller decides
        whether that means the host is lost.
        """
        wire = self._wire_ready("events")
        try:
            if wire is not None:
                self._events = wire.events({"type": ["container"]})
            else:
                self._events = self._require().events(decode=True,
                                                      filters={"type": "container"})
            if not self._opened:  # closed while the stream opened
                self.stop_events()
                return
            for event in self._events:
                cid = event.get("id") or (event.get("Actor") or {}).get("ID")
                if cid:
                    on_event(str(cid), str(event.get("status") or event.get("Action") or ""))
        except Exception as exc:
            if not self._opened:  # closed by us
                return
            words = str(exc) if isinstance(exc, WireError) else _message(exc)
            raise HostError(self.host, f"{self.endpoint}: events: {words}") from None
        finally:
            self._events = None

    def stop_events(self) -> None:
        stream, self._events = self._events, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()

    @bounded
    def facts(self) -> dict[str, Any]:
        api = self._require()
        try:
            version = api.version()
        except Exception as exc:
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None
        return {"docker_version": version.get("Version")}

    # -- making containers (tuivirt create container) ---------------------------------------
    @bounded
    def image_exists(self, image: str) -> bool:
        """The image is on this daemon (by reference or id)."""
        import docker.errors

        api = self._require()
        try:
            api.inspect_image(image)
        except docker.errors.NotFound:  # ImageNotFound is one
            return False
        except Exception as exc:
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None
        return True

    @bounded
    def create_container(self, spec: ContainerSpec) -> str:
        """Create (not start) a container from a spec; its id."""
        from docker.types import Mount

        api = self._require()
        mounts = [Mount(target=v.target, source=v.source,
                        type="volume" if v.named else "bind", read_only=v.read_only)
                  for v in spec.volumes]
        bindings: dict[str, list[Any]] = {}
        for port in spec.ports:
            bindings.setdefault(port.key, []).append(
                (port.host_ip, port.host_port) if port.host_ip else port.host_port)
        try:
            host_config = api.create_host_config(
                port_bindings=bindings or None, mounts=mounts or None,
                restart_policy=spec.restart.api())
            created = api.create_container(
                spec.image, command=list(spec.command) if spec.command else None,
                name=spec.name, environment=[f"{k}={v}" for k, v in spec.env] or None,
                ports=[(p.container_port, p.protocol) for p in spec.ports] or None,
                host_config=host_config)
        except Exception as exc:
            raise GuestError(self.host, spec.name, _message(exc)) from None
        return str(created["Id"])

    @bounded
    def start_container(self, container_id: str, name: str) -> None:
        api = self._require()
        try:
            api.start(container_id)
        except Exception as exc:
            raise GuestError(self.host, name, _message(exc)) from None

    @bounded
    def missing_volumes(self, names: list[str]) -> list[str]:
        """Of these named volumes, the ones the host does not have (yet)."""
        import docker.errors

        api = self._require()
        missing = []
        for volume in names:
            try:
                api.inspect_volume(volume)
            except docker.errors.NotFound:
                missing.append(volume)
            except Exception as exc:
                raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None
        return missing

    @bounded
    def remove_volumes(self, names: list[str], name: str) -> None:
        """Remove named volumes (those made for a container that is gone again)."""
        api = self._require()
        for volume in names:
            try:
                api.remove_volume(volume)
            except Exception as exc:
                raise GuestError(self.host, name, f"volume {volume}: {_message(exc)}") from None

    @bounded
    def remove_container(self, container_id: str, name: str) -> None:
        """Remove it, running or not, with its anonymous volumes (`docker rm -fv`)."""
        api = self._require()
        try:
            api.remove_container(container_id, force=True, v=True)
        except Exception as exc:
            raise GuestError(self.host, name, _message(exc)) from None
