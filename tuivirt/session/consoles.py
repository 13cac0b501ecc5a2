"""Consoles: which transport carries a guest's console, and their end with the host.

The session owns the consoles it opens: when their endpoint goes down or the host is
lost, it ends them with the reason (a stream over a dead link may never say so by
itself), and the pane shows that reason and reconnects when it can.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tuivirt.errors import (
    HostError,
    TuivirtError,
)
from tuivirt.model import DOCKER, Guest, GuestState
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

    def console_outlook(self, guest: Guest) -> tuple[Guest | None, str]:
        """Can `guest`'s console open now? From what the session knows, no daemon asked:
        its latest record (None: it no longer exists) and what the console waits for
        ("" when it can open: the guest runs on an endpoint that answers).

        A console pane asks when its console ends and on every news of its guest or
        host (the session's events keep this current): it never polls a daemon.
        """
        inventory = self.inventory
        fresh = inventory.find_id(self.name, guest.id)
        if fresh is None or fresh.key != guest.key:  # renamed, or made again (a new id)
            fresh = next((g for g in inventory.guests(self.name) if g.key == guest.key),
                         fresh)
        if not self.reachable:
            state = self.state.value if self.state else "disconnected"
            return fresh or guest, f"host {self.name} {state}" + (
                f": {self.reason}" if self.reason else "")
        spec = (self.host.docker or "docker") if guest.kind == DOCKER else guest.endpoint
        status = self.endpoint_status.get(spec, "ok")
        if status != "ok":
            return fresh or guest, status
        if fresh is None:
            return None, "the guest no longer exists"
        if fresh.state != GuestState.RUNNING:
            return fresh, f"the guest is {fresh.state}"
        return fresh, ""

    def recheck(self, guest: Guest) -> None:
        """One fresh look at a guest whose console just ended (blocking): the daemon's
        event may come seconds after the stream closed. The inventory (every view) has it;
        a failure is not raised: the session's state says why (console_outlook)."""
        try:
            fresh = self.lookup(guest)
        except TuivirtError:
            return
        if fresh is None:
            self.inventory.remove_id(self.name, guest.id)
        else:
            self.inventory.upsert(fresh)

    def _own(self, transport: Transport, endpoint: str) -> Transport:
        self._consoles[transport] = endpoint
        return transport

    def end_consoles(self, reason: str, endpoint: str | None = None) -> None:
        """End the consoles on `endpoint` (all of them: None), saying why. Returns at once."""
        for transport, spec in list(self._consoles.items()):
            if endpoint is None or spec == endpoint:
                self._consoles.pop(transport, None)
                # On a thread of its own: a libvirt stream's end takes its connection's
                # lock, which a call hung on a dead link (the upkeep's probe) holds until
                # the teardown after this closes that link.
                threading.Thread(target=transport.end, args=(reason,), daemon=True,
                                 name=f"console-end-{self.name}").start()
