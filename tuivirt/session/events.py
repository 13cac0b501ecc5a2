"""What reaches a live session's event thread: typed records, one per kind of news.

`generation` is the connection they belong to: news from an earlier connection is
dropped (ANY: whatever the connection).
"""

from __future__ import annotations

from dataclasses import dataclass

from tuivirt.backends.endpoint import Endpoint as Endpoint

ANY = -1


@dataclass(frozen=True, slots=True)
class GuestChanged:
    """A daemon said a guest changed (libvirt lifecycle event, Docker container event)."""

    generation: int
    endpoint: Endpoint
    guest_id: str
    event: str


@dataclass(frozen=True, slots=True)
class EndpointLost:
    """An endpoint's connection closed, errs or stopped answering."""

    generation: int
    endpoint: Endpoint
    reason: str


@dataclass(frozen=True, slots=True)
class Reopened:
    """The upkeep thread's attempt to open a down endpoint: the endpoint, or why not."""

    generation: int
    spec: str
    outcome: Endpoint | str


@dataclass(frozen=True, slots=True)
class Recovered:
    """A call stuck on a hung daemon returned: retry its endpoint now."""

    spec: str
    generation: int = ANY


@dataclass(frozen=True, slots=True)
class HostLost:
    """The host's SSH link is gone."""

    generation: int
    reason: str


@dataclass(frozen=True, slots=True)
class Stop:
    """The session is closing."""

    generation: int = ANY


SessionEvent = GuestChanged | EndpointLost | Reopened | Recovered | HostLost | Stop
