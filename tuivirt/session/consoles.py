"""Consoles: which transport carries a guest's console, and their end with the host.

The session owns the consoles it opens: when their endpoint goes down or the host is
lost, it ends them with the reason (a stream over a dead link may never say so by
itself), and the pane shows that reason and reconnects when it can.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuivirt.errors import (
    HostError,
)
from tuivirt.model import DOCKER, Guest
from tuivirt.session.core import SessionCore

if TYPE_CHECKING:  # the console transports cost ~3 ms to import: not on `list`'s path
    from tuivirt.backends.console.buffer import ConsoleBuffer
    from tuivirt.backends.console.transport import Transport


class Consoles(SessionCore):
    """Opening consoles: libvirt stream, Docker attach/exec, or SSH PTY."""

    def open_console(self, guest: Guest, buffer: ConsoleBuffer, *, force: bool = False,
                     via: str = "auto", cols: int = 80, rows: int = 24) -> Transport:
        """Open the guest's console into `buffer`: libvirt stream, Docker, or SSH PTY.

        via "auto" prefers the libvirt stream and falls back to `virsh console` over SSH
        when the host's libvirt cannot be reached; "ssh" asks for the fallback itself.
        """
        from tuivirt.backends.console.docker import DockerConsole
        from tuivirt.backends.console.libvirt import LibvirtConsole
        from tuivirt.backends.console.ssh import SSHConsole

        self.ensure_connected()  # `tuivirt console`: F5 after its daemon came back
        # A console is a keyboard on the guest: a read-only host refuses it like any change.
        self._check_writable(f"open the console of {guest.name} (a console takes input)",
                             guest.name)
        if guest.kind == DOCKER:
            if self.docker is None or self.docker.api is None:
                raise self._not_connected(self.host.docker or "docker")
            return self._own(DockerConsole(self.name, guest.name, self.docker.api, guest.id,
                                           buffer, cols, rows), self.docker.endpoint)
        endpoint = next((e for e in self.libvirt if e.endpoint == guest.endpoint), None)
        if via == "ssh" or (endpoint is None and via == "auto"):
            if self.tunnel is None or not self.tunnel.connected:
                if via == "ssh":
                    raise HostError(self.name, "no SSH connection for a console fallback")
                raise self._not_connected(guest.endpoint)
            return self._own(SSHConsole(self.name, guest.name, self.tunnel, guest.endpoint or
                                        "qemu:///system", buffer, cols, rows, force=force),
                             "ssh")
        if endpoint is None:
            raise self._not_connected(guest.endpoint)
        stream = endpoint.open_console(guest, force=force)
        how = "libvirt console stream"
        if endpoint.uri != endpoint.endpoint:
            how += " over ssh"
        return self._own(LibvirtConsole(self.name, guest.name, stream, buffer,
                                        f"{how} ({guest.endpoint})"), endpoint.endpoint)

    def _own(self, transport: Transport, endpoint: str) -> Transport:
        self._consoles[transport] = endpoint
        return transport

    def end_consoles(self, reason: str, endpoint: str | None = None) -> None:
        """End the consoles on `endpoint` (all of them: None), saying why. Returns at once."""
        for transport, spec in list(self._consoles.items()):
            if endpoint is None or spec == endpoint:
                self._consoles.pop(transport, None)
                transport.end(reason)
