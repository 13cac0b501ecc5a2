"""A Docker container from an image: the spec a user fills in, its parsing from the
words a user types (`8080:80/udp`, `KEY=VALUE`, `/srv/data:/data:ro`, `on-failure:3`),
and the progress of an image pull summed over its layers.

Pure: no Docker import. The session (session/containers.py) turns a spec into API calls.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from enum import StrEnum

#: Docker's own rule for a container name (daemon/names.go), checked before asking it.
_CONTAINER_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
#: A named volume (as opposed to a host path): Docker's rule for volume names.
_VOLUME_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_ENV_KEY_RE = re.compile(r"[^\s=\x00]+")
_IPV4_RE = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
PROTOCOLS = ("tcp", "udp", "sctp")
RESTART_HELP = "no, always, unless-stopped, on-failure or on-failure:N (N retries)"


class SpecError(ValueError):
    """A malformed port, env, volume, restart policy, name or image; says what would do."""


class Restart(StrEnum):
    NO = "no"
    ALWAYS = "always"
    UNLESS_STOPPED = "unless-stopped"
    ON_FAILURE = "on-failure"


@dataclass(frozen=True)
class RestartPolicy:
    name: Restart = Restart.NO
    max_retries: int = 0  # on-failure only; 0: no limit

    def api(self) -> dict[str, str | int]:
        return {"Name": str(self.name), "MaximumRetryCount": self.max_retries}

    def __str__(self) -> str:
        if self.name is Restart.ON_FAILURE and self.max_retries:
            return f"on-failure:{self.max_retries}"
        return str(self.name)


@dataclass(frozen=True)
class PortMap:
    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""  # "": every address of the host

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.protocol}"

    def __str__(self) -> str:
        ip = (f"[{self.host_ip}]:" if ":" in self.host_ip else f"{self.host_ip}:"
              ) if self.host_ip else ""
        return f"{ip}{self.host_port}:{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class VolumeMap:
    source: str  # an absolute path on the host, or a named volume
    target: str  # an absolute path in the container
    read_only: bool = False

    @property
    def named(self) -> bool:
        return not self.source.startswith("/")

    def __str__(self) -> str:
        return f"{self.source}:{self.target}{':ro' if self.read_only else ''}"


@dataclass(frozen=True)
class ContainerSpec:
    """What `tuivirt create container` (and later the `n` dialog) asks for."""

    host: str
    name: str
    image: str
    command: tuple[str, ...] | None = None  # None: the image's own
    env: tuple[tuple[str, str], ...] = ()
    ports: tuple[PortMap, ...] = ()
    volumes: tuple[VolumeMap, ...] = ()
    restart: RestartPolicy = RestartPolicy()

    def problems(self) -> list[str]:
        """What is wrong with the spec as a whole, before any host is asked."""
        found = []
        if not _CONTAINER_NAME_RE.fullmatch(self.name):
            found.append(f"container name {self.name!r}: Docker takes letters, digits and "
                         "_ . - (two or more, starting with a letter or digit)")
        if not self.image or any(c.isspace() or ord(c) < 32 for c in self.image):
            found.append(f"image {self.image!r}: a reference such as alpine:3.20 or "
                         "registry:5000/team/app@sha256:...")
        if self.command is not None and not self.command:
            found.append("the command is empty (leave it out to run the image's own)")
        keys = [k for k, _ in self.env]
        found += [f"--env {k}: given twice" for k in sorted({k for k in keys
                                                             if keys.count(k) > 1})]
        bound: dict[tuple[str, int, str], PortMap] = {}
        for port in self.ports:
            where = (port.host_ip, port.host_port, port.protocol)
            if where in bound:
                found.append(f"--port {port}: host port {port.host_port}/{port.protocol} "
                             f"is already mapped by {bound[where]}")
            bound[where] = port
        targets = [v.target.rstrip("/") or "/" for v in self.volumes]
        found += [f"--volume: {t} is mounted twice" for t in sorted({t for t in targets
                                                                    if targets.count(t) > 1})]
        return found


# -- parsing the words a user types ------------------------------------------------------
def parse_env(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not _ENV_KEY_RE.fullmatch(key):
        raise SpecError(f"--env {text!r}: expected KEY=VALUE (a key without spaces)")
    if "\x00" in value:
        raise SpecError(f"--env {key}: the value cannot hold a NUL character")
    return key, value


def _port_number(text: str, what: str, whole: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise SpecError(f"--port {whole!r}: the {what} port must be 1-65535, not {text!r}")
    return int(text)


def parse_port(text: str) -> PortMap:
    """HOST:CONTAINER[/PROTO], or IP:HOST:CONTAINER[/PROTO] ([v6]:HOST:CONTAINER)."""
    shape = "expected HOST:CONTAINER[/tcp|udp|sctp] or IP:HOST:CONTAINER, e.g. 8080:80"
    body, slash, protocol = text.partition("/")
    protocol = protocol.lower() if slash else "tcp"
    if protocol not in PROTOCOLS:
        raise SpecError(f"--port {text!r}: unknown protocol {protocol!r} (tcp, udp or sctp)")
    host_ip = ""
    if body.startswith("["):
        address, bracket, body = body[1:].partition("]:")
        if not bracket or ":" not in address:
            raise SpecError(f"--port {text!r}: {shape}")
        host_ip = address
    parts = body.split(":")
    if len(parts) == 3 and not host_ip:
        host_ip = parts.pop(0)
        if not _IPV4_RE.fullmatch(host_ip) or any(int(p) > 255 for p in host_ip.split(".")):
            raise SpecError(f"--port {text!r}: {host_ip!r} is not an IP address")
    if len(parts) != 2:
        raise SpecError(f"--port {text!r}: {shape}")
    if "-" in body:
        raise SpecError(f"--port {text!r}: port ranges are not supported; one --port each")
    return PortMap(host_port=_port_number(parts[0], "host", text),
                   container_port=_port_number(parts[1], "container", text),
                   protocol=protocol, host_ip=host_ip)


def parse_volume(text: str) -> VolumeMap:
    """SRC:DST[:ro|rw]: SRC an absolute path on the host or a named volume."""
    parts = text.split(":")
    read_only = False
    if len(parts) == 3:
        mode = parts.pop()
        if mode not in ("ro", "rw"):
            raise SpecError(f"--volume {text!r}: the mode must be ro or rw, not {mode!r}")
        read_only = mode == "ro"
    if len(parts) != 2 or not all(parts):
        raise SpecError(f"--volume {text!r}: expected SOURCE:TARGET[:ro], e.g. "
                        "/srv/data:/data:ro or a named volume, cache:/cache")
    source, target = parts
    if not source.startswith("/") and not _VOLUME_NAME_RE.fullmatch(source):
        raise SpecError(f"--volume {text!r}: the source must be an absolute path on the "
                        f"host or a volume name, not {source!r} (the host may be remote: "
                        "a relative path means nothing there)")
    if not target.startswith("/"):
        raise SpecError(f"--volume {text!r}: the target must be an absolute path in the "
                        f"container, not {target!r}")
    if any(ord(c) < 32 for c in text):
        raise SpecError(f"--volume {text!r}: paths cannot hold control characters")
    return VolumeMap(source=source, target=target, read_only=read_only)


def parse_restart(text: str) -> RestartPolicy:
    name, colon, count = text.partition(":")
    try:
        policy = Restart(name)
    except ValueError:
        raise SpecError(f"--restart {text!r}: one of {RESTART_HELP}") from None
    if not colon:
        return RestartPolicy(policy)
    if policy is not Restart.ON_FAILURE:
        raise SpecError(f"--restart {text!r}: only on-failure takes a retry count")
    if not count.isdigit() or int(count) < 1:
        raise SpecError(f"--restart {text!r}: the retry count must be a whole number "
                        "from 1 (on-failure alone retries without limit)")
    return RestartPolicy(policy, int(count))


def parse_command(text: str) -> tuple[str, ...]:
    """A command line split as a POSIX shell would (`sh -c 'echo hi'`), not run by one."""
    try:
        words = tuple(shlex.split(text))
    except ValueError as exc:
        raise SpecError(f"--cmd {text!r}: {exc}") from None
    if not words:
        raise SpecError("--cmd is empty (leave it out to run the image's own command)")
    return words


# -- an image pull's progress ---------------------------------------------------------------
#: A layer's status words as the daemon sends them, in the order a layer goes through.
_LAYER_PHASES = {
    "Pulling fs layer": "waiting", "Waiting": "waiting", "Retrying": "waiting",
    "Downloading": "downloading", "Verifying Checksum": "verifying",
    "Download complete": "downloaded", "Extracting": "extracting",
    "Pull complete": "done", "Already exists": "done",
}


@dataclass
class Layer:
    phase: str = "waiting"
    current: int = 0  # bytes downloaded (or extracted, while extracting)
    size: int | None = None  # the layer's download size, once the daemon says


@dataclass(frozen=True, slots=True)
class LayerStatus:
    """One layer's picture, for a bar of its own (the images view's progress screen)."""

    id: str  # the daemon's short layer id (its own text: shown inert)
    phase: str  # waiting, downloading ("pushing" too), verifying, extracting, done...
    current: int
    size: int | None


@dataclass(frozen=True)
class PullStatus:
    """One picture of a pull, for a progress line: `2/5 layers, 3.1 of 12 MiB`."""

    image: str
    layers: int
    done: int  # layers pulled (or already there)
    downloaded: int  # bytes, over the layers whose size is known
    size: int  # the sum of the sizes known so far
    phase: str  # the newest status line without a layer (e.g. "Digest: sha256:...")
    verb: str = "pulling"  # or "pushing": the same stream's shape, the other way
    per_layer: tuple[LayerStatus, ...] = ()  # in the order the daemon named them


class PullError(Exception):
    """The daemon or the registry refused the pull; `message` holds its words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class PullProgress:
    """Sums the per-layer events of one pull (`docker pull`'s JSON stream)."""

    image: str
    layers: dict[str, Layer] = field(default_factory=dict)
    phase: str = ""
    #: the daemon's status words -> a layer's phase ("downloading": bytes moving, either
    #: way); a push has words of its own (docker_images.PUSH_PHASES)
    phases: dict[str, str] = field(default_factory=lambda: _LAYER_PHASES)
    verb: str = "pulling"

    def feed(self, event: dict[str, object]) -> PullStatus:
        """Take one event; PullError when it is the daemon's error."""
        if event.get("error") or event.get("errorDetail"):
            detail = event.get("errorDetail")
            words = event.get("error") or (detail.get("message")
                                           if isinstance(detail, dict) else None)
            raise PullError(str(words or "the pull failed"))
        status = str(event.get("status") or "")
        layer_id = str(event.get("id") or "")
        # "Retrying in 5 seconds": the layer waits again.
        phase = self.phases.get("Retrying" if status.startswith("Retrying") else status)
        if phase is None or not layer_id:
            if status:
                self.phase = status
            return self.status()
        layer = self.layers.setdefault(layer_id, Layer())
        detail = event.get("progressDetail")
        current = total = None
        if isinstance(detail, dict):
            current, total = detail.get("current"), detail.get("total")
        if phase == "downloading":
            if isinstance(total, int) and total > 0:
                layer.size = total
            if isinstance(current, int):
                layer.current = current
        elif phase in ("downloaded", "extracting", "done") and layer.size is not None:
            layer.current = layer.size
        if phase == "extracting" and layer.size is None and isinstance(total, int):
            layer.size = layer.current = total  # downloaded before we watched
        layer.phase = phase
        return self.status()

    def status(self) -> PullStatus:
        sized = [layer for layer in self.layers.values() if layer.size]
        return PullStatus(
            image=self.image, layers=len(self.layers),
            done=sum(1 for layer in self.layers.values() if layer.phase == "done"),
            downloaded=sum(min(layer.current, layer.size or 0) for layer in sized),
            size=sum(layer.size or 0 for layer in sized), phase=self.phase, verb=self.verb,
            per_layer=tuple(LayerStatus(key, layer.phase, layer.current, layer.size)
                            for key, layer in self.layers.items()))


def describe(status: PullStatus) -> str:
    """`pulling alpine:3.20: 2/3 layers, 1.2 MiB of 3.4 MiB`."""
    from tuivirt.sizes import human_size

    if not status.layers:
        return f"{status.verb} {status.image}: {status.phase or 'asking the registry'}"
    sizes = (f", {human_size(status.downloaded)} of {human_size(status.size)}"
             if status.size else "")
    return f"{status.verb} {status.image}: {status.done}/{status.layers} layers{sizes}"


def with_defaults(spec: ContainerSpec) -> ContainerSpec:
    """The image with its tag said (`tiny` -> `tiny:latest`), as Docker stores it."""
    image = spec.image
    last = image.rsplit("/", 1)[-1]
    if "@" not in image and ":" not in last:
        image = f"{image}:latest"
    return replace(spec, image=image)
