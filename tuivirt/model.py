"""Plain records shared by backends, sessions, the inventory, the CLI and the UI."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class GuestState(StrEnum):
    """One vocabulary of states for libvirt domains and Docker containers."""

    RUNNING = "running"
    PAUSED = "paused"
    SHUTOFF = "shutoff"
    STARTING = "starting"
    STOPPING = "stopping"
    CRASHED = "crashed"
    SUSPENDED = "pmsuspended"
    UNKNOWN = "unknown"


class HostState(StrEnum):
    """Where a host session is in its life (see session.py)."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DEGRADED = "degraded"  # some endpoints answer, others do not
    LOST = "lost"
    RECONNECTING = "reconnecting"


#: Guest kinds: libvirt domain types as the domain XML names them, plus "docker".
DOCKER = "docker"
LIBVIRT_KINDS = ("kvm", "qemu", "lxc", "xen", "vmware", "hyperv", "bhyve", "vz", "test")


@dataclass(frozen=True, slots=True)
class Guest:
    """A libvirt domain or a Docker container on one host."""

    host: str
    kind: str
    name: str
    id: str  # libvirt UUID or Docker container id
    state: GuestState
    state_detail: str = ""
    vcpus: float | None = None
    memory_mib: int | None = None
    autostart: bool | None = None
    persistent: bool = True
    arch: str | None = None
    image: str | None = None
    endpoint: str = ""  # the libvirt URI or Docker endpoint it came from
    # Not part of equality: it moves on every listing of a running domain, and a
    # relisting must not turn every running guest into a "changed" row.
    cpu_time_ns: int | None = field(default=None, compare=False)
    started_at: float | None = None  # epoch seconds, when the backend knows it
    cpu_percent: float | None = None  # of its vCPUs (a container: of its CPU limit, or
    # of the host's CPUs when unlimited), sampled by the session
    memory_used_mib: int | None = None  # a running container's memory in use (sampled)

    @property
    def key(self) -> str:
        """Unique across hosts: names are unique per libvirt driver and per dockerd."""
        return f"{self.host}/{self.kind}:{self.name}"

    def to_json(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies every field (a fifth of `list` time).
        return {
            "host": self.host, "kind": self.kind, "name": self.name, "id": self.id,
            "state": self.state.value, "state_detail": self.state_detail,
            "vcpus": self.vcpus, "memory_mib": self.memory_mib, "autostart": self.autostart,
            "persistent": self.persistent, "arch": self.arch, "image": self.image,
            "cpu_time_ns": self.cpu_time_ns, "started_at": self.started_at,
            "cpu_percent": self.cpu_percent, "memory_used_mib": self.memory_used_mib,
        }

    def replace(self, **changes: Any) -> Guest:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Network:
    """A libvirt virtual network."""

    host: str
    name: str
    uuid: str
    active: bool
    autostart: bool
    persistent: bool
    bridge: str | None
    endpoint: str = ""
    ranges: tuple[str, ...] = ()  # "192.168.122.1/24 dhcp 192.168.122.2-192.168.122.254"


DefKind = Literal["domain", "network"]


@dataclass(frozen=True, slots=True)
class DefinitionRef:
    """What an XML editor edits: one domain (by uuid) or network (by name) on a host."""

    host: str
    kind: DefKind
    name: str
    endpoint: str = ""  # the libvirt connection's label ("" = the host's first one)
    uuid: str = ""

    @property
    def address(self) -> str:
        return f"{self.host}/{self.name}" if self.kind == "domain" else \
            f"{self.host}/network:{self.name}"


@dataclass(frozen=True, slots=True)
class Applied:
    """A definition written: what the host stores now, and where the old one was kept."""

    ref: DefinitionRef
    xml: str
    backup: str | None
    guest: Guest | None = None


@dataclass(frozen=True, slots=True)
class HostFacts:
    """What `tuivirt hosts` reports about one host."""

    name: str
    state: HostState
    reason: str = ""
    libvirt_version: str | None = None
    hypervisors: tuple[tuple[str, str], ...] = ()  # (driver, version), e.g. ("QEMU", "7.2.0")
    docker_version: str | None = None
    kvm_usable: bool | None = None
    cpu_virt_flags: tuple[str, ...] = ()  # "vmx" / "svm" when the CPU shows them
    read_only: bool = False
    label: str | None = None
    endpoints: tuple[tuple[str, str], ...] = ()  # (endpoint, "ok" or error text)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": str(self.state),
            "reachable": self.state in (HostState.CONNECTED, HostState.DEGRADED),
            "reason": self.reason,
            "libvirt_version": self.libvirt_version,
            "hypervisors": {drv: ver for drv, ver in self.hypervisors},
            "docker_version": self.docker_version,
            "kvm_usable": self.kvm_usable,
            "cpu_virt_flags": list(self.cpu_virt_flags),
            "read_only": self.read_only,
            "label": self.label,
            "endpoints": {ep: status for ep, status in self.endpoints},
        }


def format_vcpus(vcpus: float | None) -> str:
    """2 for two vCPUs, 0.50 for a container limited to half a CPU, - when unknown."""
    if vcpus is None:
        return "-"
    return str(int(vcpus)) if float(vcpus).is_integer() else f"{vcpus:.2f}"


def version_string(packed: int) -> str:
    """libvirt packs versions as major * 1e6 + minor * 1e3 + release."""
    return f"{packed // 1_000_000}.{packed // 1000 % 1000}.{packed % 1000}"


@dataclass(frozen=True, slots=True)
class Pool:
    """A libvirt storage pool (shared by the QEMU and LXC drivers of one libvirtd)."""

    host: str
    name: str
    uuid: str
    type: str  # dir, logical, netfs, ...
    active: bool
    autostart: bool
    persistent: bool
    capacity: int  # bytes; 0 while inactive
    allocation: int
    available: int
    path: str | None = None  # the target directory or device
    endpoint: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "name": self.name, "uuid": self.uuid, "type": self.type,
                "state": "active" if self.active else "inactive",
                "autostart": self.autostart, "persistent": self.persistent,
                "capacity": self.capacity, "allocation": self.allocation,
                "available": self.available, "path": self.path}


@dataclass(frozen=True, slots=True)
class Volume:
    """A volume of a storage pool, and the guests whose disks use it."""

    host: str
    pool: str
    name: str
    path: str
    format: str | None  # qcow2, raw, ... (None: the pool type has no formats)
    capacity: int  # bytes
    allocation: int
    backing: str | None = None  # the backing file's path
    used_by: tuple[str, ...] = ()  # guest names

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "pool": self.pool, "name": self.name, "path": self.path,
                "format": self.format, "capacity": self.capacity,
                "allocation": self.allocation, "backing": self.backing,
                "used_by": list(self.used_by)}


@dataclass(frozen=True, slots=True)
class Image:
    """A Docker image of a host: its tags (none: dangling), and the containers using it."""

    host: str
    id: str  # sha256:...
    tags: tuple[str, ...]  # repository:tag, sorted; () when dangling
    size: int  # bytes (its layers, shared ones included)
    created: float  # seconds since the epoch
    used_by: tuple[str, ...] = ()  # names of the containers made from it (any state)
    digests: tuple[str, ...] = ()  # repository@sha256:..., once pushed or pulled

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    @property
    def dangling(self) -> bool:
        return not self.tags

    @property
    def name(self) -> str:
        """What a user calls it: its first tag, or `<none>` and its id when dangling."""
        return self.tags[0] if self.tags else f"<none> {self.short_id}"

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "id": self.id, "tags": list(self.tags),
                "size": self.size, "created": self.created, "dangling": self.dangling,
                "used_by": list(self.used_by), "digests": list(self.digests)}
