"""The contract every endpoint backend implements (libvirt URI, Docker daemon).

A session holds its endpoints through this protocol alone; what only one kind can do
(domain XML, networks, consoles by stream) is said by its capability flags, and the
session asks for the concrete type only there.

Raises (every method but close):
    HostError: the daemon cannot be reached, or the connection is not open.
    EndpointHung (a HostError): no answer within the endpoint's deadline.
    GuestError: the daemon refused, in its own words (`missing` when the guest is gone).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from tuivirt.actions import Action
from tuivirt.backends.deadline import Deadline
from tuivirt.model import Guest


class Endpoint(Protocol):
    host: str  #: the configured host's name
    endpoint: str  #: as configured (what rows, statuses and messages name)
    deadline: Deadline | None  #: bounds every call; None: unbounded (tests)
    has_definitions: ClassVar[bool]  #: domain XML to edit and define (libvirt)
    has_networks: ClassVar[bool]  #: virtual networks (libvirt)

    def open(self, *, events: bool = False) -> None:
        """Connect (events: this connection will carry event callbacks)."""

    def close(self) -> None:
        """Close now, or once the calls in flight return; never raises."""

    def probe(self) -> None:
        """One round trip to the daemon: proves it answers."""

    def list_guests(self) -> list[Guest]:
        """Every guest of this endpoint."""

    def lookup(self, guest_id: str) -> Guest | None:
        """The guest's record now; None when it no longer exists."""

    def perform(self, guest: Guest, action: Action, enable: bool = True) -> None:
        """One lifecycle action (start, shutdown, reboot, destroy, suspend, resume,
        autostart with `enable`, undefine)."""

    def dumpxml(self, guest: Guest, *, inactive: bool = False) -> str:
        """The guest's definition as text (domain XML; a container's inspect JSON)."""

    def facts(self) -> dict[str, Any]:
        """Versions and capabilities, for `tuivirt hosts`."""
