"""Docker backend: containers as guests, through the Docker SDK's low-level API client."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from tuivirt.actions import Action
from tuivirt.backends.deadline import Deadline, bounded
from tuivirt.backends.docker_ping import Pinger, PingError
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
        self.api: Any = None
        self._events: Any = None
        self._discarded = False  # closed before an open that outlived its deadline returned
        self._pinger: Pinger | None = None  # probe()'s connection, kept open

    @bounded
    def open(self, *, events: bool = False) -> None:
        import docker  # imported here: it costs ~0.2 s and only Docker hosts need it

        # The SDK's own socket timeout stays well above our deadline, so a call to a hung
        # daemon is answered by the deadline, whose pending outcome says if it landed.
        try:
            api = docker.APIClient(base_url=self.url,
                                   timeout=max(1, round(self.timeout * 6)), version="auto")
        except Exception as exc:  # DockerException on connect/version negotiation
            self.api = None
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None
        if self._discarded:  # given up on while it opened: nobody will close it
            with contextlib.suppress(Exception):
                api.close()
            raise HostError(self.host, f"{self.endpoint}: opened too late")
        self.api = api

    def close(self) -> None:
        self.stop_events()
        self._discarded = True
        pinger, self._pinger = self._pinger, None
        if pinger is not None:
            pinger.close()
        api, self.api = self.api, None
        if api is not None:
            with contextlib.suppress(Exception):
                api.close()

    def _require(self) -> Any:
        if self.api is None:
            raise HostError(self.host, f"{self.endpoint}: not connected")
        return self.api

    def probe(self) -> None:
        """One round trip to the daemon: `GET /_ping` on a connection kept open, bounded
        by its socket's timeout (docker_ping: a tenth of the SDK's cost, no thread)."""
        self._require()
        if self.deadline is not None and self.deadline.hung:
            self.deadline.run("probe", lambda: None)  # refused at once: a call is stuck
        if not self.url.startswith("unix://"):
            self._sdk_ping()
            return
        if self._pinger is None:
            self._pinger = Pinger(self.url.removeprefix("unix://"), self.timeout)
        try:
            self._pinger.ping()
        except PingError as exc:
            raise HostError(self.host, f"{self.endpoint}: {exc}") from None

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

    @bounded
    def list_guests(self) -> list[Guest]:
        api = self._require()
        try:
            summaries = api.containers(all=True)
        except Exception as exc:
            raise HostError(self.host, f"{self.endpoint}: {_message(exc)}") from None
        guests = []
        for summary in summaries:
            guest = self.lookup(summary["Id"])
            if guest is not None:
                guests.append(guest)
        return guests

    @bounded
    def lookup(self, container_id: str) -> Guest | None:
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
        api = self._require()
        try:
            self._events = api.events(decode=True, filters={"type": "container"})
            for event in self._events:
                cid = event.get("id") or (event.get("Actor") or {}).get("ID")
                if cid:
                    on_event(str(cid), str(event.get("status") or event.get("Action") or ""))
        except Exception as exc:
            if self.api is None:  # closed by us
                return
            raise HostError(self.host, f"{self.endpoint}: events: {_message(exc)}") from None
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
