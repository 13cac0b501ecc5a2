"""Thin, blocking, typed wrappers over libvirt-python, the Docker SDK and asyncssh.

No Textual imports here: the CLI's fast path must not pay for the UI.
"""

from __future__ import annotations

from typing import Protocol

from tuivirt.model import Guest

#: Lifecycle actions every backend understands (autostart takes an on/off argument).
ACTIONS = ("start", "shutdown", "reboot", "destroy", "suspend", "resume", "autostart",
           "undefine")


class Endpoint(Protocol):
    """One libvirt URI or one Docker endpoint of a host."""

    host: str
    endpoint: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def list_guests(self) -> list[Guest]: ...
    def perform(self, guest: Guest, action: str, enable: bool = True) -> None: ...
