"""`virsh console` run on the host in a PTY, for hosts whose libvirt socket cannot be
reached."""

from __future__ import annotations

import contextlib
import shlex
from typing import Any

from tuivirt.backends.console.buffer import READ_CHUNK, ConsoleBuffer
from tuivirt.backends.console.transport import Transport
from tuivirt.errors import GuestError


class SSHConsole(Transport):
    """`virsh console` on the host, in a PTY over the host's SSH connection."""

    def __init__(self, host: str, name: str, tunnel: Any, uri: str, buffer: ConsoleBuffer,
                 cols: int, rows: int, *, force: bool = False) -> None:
        from tuivirt.backends.ssh import ssh_loop

        self.host = host
        self.name = name
        self.buffer = buffer
        self._loop = ssh_loop()
        command = (f"virsh -c {shlex.quote(uri)} console {'--force ' if force else ''}"
                   f"-- {shlex.quote(name)}")
        self.label = f"ssh: {command}"
        self._closed = False

        self.process = tunnel.open_pty(command, cols, rows)
        self._loop.call_soon_threadsafe(self._start_reader)

    def _start_reader(self) -> None:
        import asyncio

        self._reader = asyncio.ensure_future(self._read(), loop=self._loop)

    async def _read(self) -> None:
        import asyncio

        reason = "the console closed"
        try:
            while True:
                data = await self.process.stdout.read(READ_CHUNK)
                if not data:
                    break
                if not self.buffer.put(bytes(data)):  # full: let the terminal catch up
                    while (self.buffer.size >= self.buffer.cap and not self._closed
                           and self.buffer.closed_reason is None):
                        await asyncio.sleep(0.01)  # not a blocking wait: the loop is shared
        except Exception as exc:
            if not self._closed:
                reason = f"ssh console: {exc}"
        status = self.process.exit_status
        if status not in (None, 0) and not self._closed:
            reason = f"virsh console exited with status {status}"
        self.buffer.close("closed" if self._closed else reason)

    def send(self, data: bytes) -> None:
        if self._closed:
            raise GuestError(self.host, self.name, "the console is closed")
        self._loop.call_soon_threadsafe(self.process.stdin.write, data)

    def resize(self, cols: int, rows: int) -> None:
        with contextlib.suppress(Exception):
            self._loop.call_soon_threadsafe(self.process.change_terminal_size, cols, rows)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):
            self._loop.call_soon_threadsafe(self.process.close)
