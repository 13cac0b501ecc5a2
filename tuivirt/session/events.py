"""What reaches a live session's event thread: typed records, one per kind of news.

`generation` is the connection they belong to: news from an earlier connection is
dropped (ANY: whatever the connection). Plain slotted classes, not dataclasses: six
dataclasses cost 2 ms of every `tuivirt list` to create, for records only a live
session's event thread ever reads.
"""

from __future__ import annotations

from tuivirt.backends.endpoint import Endpoint as Endpoint

ANY = -1


class GuestChanged:
    """A daemon said a guest changed (libvirt lifecycle event, Docker container event)."""

    __slots__ = ("endpoint", "event", "generation", "guest_id")

    def __init__(self, generation: int, endpoint: Endpoint, guest_id: str, event: str) -> None:
        self.generation = generation
        self.endpoint = endpoint
        self.guest_id = guest_id
        self.event = event


class EndpointLost:
    """An endpoint's connection closed, errs or stopped answering."""

    __slots__ = ("endpoint", "generation", "reason")

    def __init__(self, generation: int, endpoint: Endpoint, reason: str) -> None:
        self.generation = generation
        self.endpoint = endpoint
        self.reason = reason


class Reopened:
    """The upkeep thread's attempt to open a down endpoint: the endpoint, or why not."""

    __slots__ = ("generation", "outcome", "spec")

    def __init__(self, generation: int, spec: str, outcome: Endpoint | str) -> None:
        self.generation = generation
        self.spec = spec
        self.outcome = outcome


class Recovered:
    """A call stuck on a hung daemon returned: retry its endpoint now."""

    __slots__ = ("generation", "spec")

    def __init__(self, spec: str, generation: int = ANY) -> None:
        self.spec = spec
        self.generation = generation


class HostLost:
    """The host's SSH link is gone."""

    __slots__ = ("generation", "reason",)

    def __init__(self, generation: int, reason: str) -> None:
        self.generation = generation
        self.reason = reason


class Stop:
    """The session is closing."""

    __slots__ = ("generation",)

    def __init__(self, generation: int = ANY) -> None:
        self.generation = generation


SessionEvent = GuestChanged | EndpointLost | Reopened | Recovered | HostLost | Stop
