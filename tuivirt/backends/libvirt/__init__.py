"""libvirt backend: one connection per URI, turned into our records and our one error type.

- loop.py: libvirt's event loop, one per process (events, keepalive, console streams);
- connection.py: opening, watching and closing a connection, its callers counted, and
  the host's facts; the error helpers every call uses;
- guests.py: domains (listing, CPU times, actions, definitions, console streams);
- networks.py: virtual networks (listing, XML, define, actions).

The next kinds of libvirt object (storage pools and volumes, snapshots) take a module
of their own, mixed into LibvirtEndpoint like these.
"""

from __future__ import annotations

from typing import ClassVar

from tuivirt.backends.libvirt.guests import GuestCalls
from tuivirt.backends.libvirt.networks import NetworkCalls


class LibvirtEndpoint(GuestCalls, NetworkCalls):
    """A connection to one libvirt URI of a host, with every call the session makes on it
    (the `Endpoint` contract, plus domain XML, networks and console streams)."""

    has_definitions: ClassVar[bool] = True
    has_networks: ClassVar[bool] = True
