"""A Docker container's console: attach to its TTY, or exec a shell in a new one."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from tuivirt.backends.console.buffer import READ_CHUNK, ConsoleBuffer
from tuivirt.backends.console.transport import KeyedTransport, KeyWriter
from tuivirt.errors import GuestError


class DockerConsole(KeyedTransport):
    """The container's TTY (attach), or a shell exec'd in a new TTY when it has none."""

    def __init__(self, host: str, name: str, api: Any, container_id: str,
                 buffer: ConsoleBuffer, cols: int, rows: int) -> None:
        self.host = host
        self.name = name
        self.api = api
        self.container = container_id
        self.buffer = buffer
        self.exec_id: str | None = None
        try:
            info = api.inspect_container(container_id)
            if not info.get("State", {}).get("Running"):
                raise GuestError(host, name, "the container is not running")
            if info.get("Config", {}).get("Tty") and info.get("Config", {}).get("OpenStdin"):
                self.label = "docker attach (the container's TTY)"
                sock = api.attach_socket(container_id, params={
                    "stdin": 1, "stdout": 1, "stderr": 1, "stream": 1, "logs": 0})
            else:
                shell = "/bin/sh"
                self.label = f"docker exec {shell} (the container has no TTY to attach)"
                self.exec_id = api.exec_create(container_id, [shell], stdin=True, tty=True,
                                               environment={"TERM": "xterm-256color"})["Id"]
                sock = api.exec_start(self.exec_id, tty=True, socket=True)
        except GuestError:
            raise
        except Exception as exc:
            raise GuestError(host, name, f"console: {exc}") from None
        self.sock = getattr(sock, "_sock", sock)  # the raw socket under docker's wrapper
        self._closed = False
        self._keys = KeyWriter(name, self._write, self._failed)
        self.resize(cols, rows)
        self._thread = threading.Thread(target=self._pump, name=f"console-{name}",
                                        daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        reason = "the container's console closed (it stopped, or its shell exited)"
        try:
            while not self._closed:
                data = self.sock.recv(READ_CHUNK)
                if not data:
                    break
                if not self.buffer.put(data):  # full: let the terminal catch up
                    while not self._closed and not self.buffer.wait_space():
                        pass
        except OSError as exc:
            if not self._closed:
                reason = f"console: {exc.strerror or exc}"
        self.buffer.close("closed" if self._closed else reason)

    def _write(self, chunk: bytes) -> int:
        """(The key writer's thread.) sendall: a full socket blocks this thread only."""
        try:
            self.sock.sendall(chunk)
        except OSError as exc:
            raise GuestError(self.host, self.name, f"console: {exc.strerror or exc}") \
                from None
        return len(chunk)

    def _failed(self, reason: str) -> None:
        if not self._closed:
            self.close()
            self.buffer.close(reason)


    def resize(self, cols: int, rows: int) -> None:
        with contextlib.suppress(Exception):
            if self.exec_id is not None:
                self.api.exec_resize(self.exec_id, height=rows, width=cols)
            else:
                self.api.resize(self.container, height=rows, width=cols)

    def close(self) -> None:
        self._closed = True
        self._keys.close()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()
