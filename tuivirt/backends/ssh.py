"""SSH transport: one asyncssh connection per remote host carries its sockets and commands.

asyncssh needs an asyncio loop; tuivirt keeps one process-wide loop in a daemon thread for
it, so the CLI (no loop of its own) and the Textual app (whose loop must stay free for
drawing) share one code path, and forwarding never waits on a busy UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from tuivirt import paths
from tuivirt.config import HostConfig
from tuivirt.errors import HostError

T = TypeVar("T")

_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def ssh_loop() -> asyncio.AbstractEventLoop:
    """The process-wide asyncio loop that runs every SSH connection."""
    global _loop
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="tuivirt-ssh", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def run_sync(coro: Coroutine[Any, Any, T], timeout: float) -> T:
    """Run a coroutine on the SSH loop from a plain thread, bounded in time."""
    future = asyncio.run_coroutine_threadsafe(coro, ssh_loop())
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise


def describe_ssh_error(host: str, target: str, exc: BaseException,
                       known_hosts: str | None) -> str:
    """Turn asyncssh's and the OS's errors into a sentence a user can act on."""
    import asyncssh

    kh = known_hosts or "~/.ssh/known_hosts"
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return (f"ssh {target}: host key not verified ({exc.reason}): its key is not in "
                f"{kh} or does not match it. Check the key's fingerprint with the host's "
                f"owner, then add it to {kh} (e.g. by connecting once with ssh).")
    if isinstance(exc, asyncssh.PermissionDenied):
        return f"ssh {target}: permission denied (no key accepted; passwords are not used)"
    if isinstance(exc, asyncssh.DisconnectError):
        return f"ssh {target}: disconnected: {exc.reason}"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return f"ssh {target}: timed out (host not answering)"
    if isinstance(exc, ConnectionRefusedError):
        return f"ssh {target}: connection refused"
    if isinstance(exc, OSError):
        return f"ssh {target}: {exc.strerror or exc}"
    return f"ssh {target}: {exc}"


class SSHTunnel:
    """An SSH connection to a host, forwarding its unix sockets to private local ones."""

    def __init__(self, host: HostConfig, *, timeout: float = 10.0,
                 on_lost: Callable[[str], None] | None = None) -> None:
        assert host.ssh is not None
        self.host = host
        self.target = host.ssh
        self.timeout = timeout
        self.on_lost = on_lost
        self._conn: Any = None
        self._listeners: list[Any] = []
        self._sockets: list[Path] = []
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def connect(self) -> None:
        try:
            run_sync(self._connect(), self.timeout + 1)
        except HostError:
            raise
        except BaseException as exc:  # asyncssh raises a wide family
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise HostError(self.host.name, describe_ssh_error(
                self.host.name, str(self.target), exc, self.host.ssh_known_hosts)) from None

    async def _connect(self) -> None:
        import asyncssh

        tunnel = self

        class Client(asyncssh.SSHClient):
            def connection_lost(self, exc: Exception | None) -> None:
                if tunnel._closing:
                    return
                tunnel._conn = None
                if tunnel.on_lost is not None:
                    reason = f"ssh connection lost: {exc}" if exc else "ssh connection closed"
                    tunnel.on_lost(reason)

        options: dict[str, Any] = {
            "connect_timeout": self.timeout,
            "login_timeout": self.timeout,
            "keepalive_interval": 5,
            "keepalive_count_max": 3,
            # Never prompt: keys, the agent and certificates only.
            "kbdint_auth": False,
            "password_auth": False,
        }
        if self.target.user:
            options["username"] = self.target.user
        if self.target.port:
            options["port"] = self.target.port
        if self.host.ssh_identity:
            options["client_keys"] = [self.host.ssh_identity]
        if self.host.ssh_known_hosts:
            options["known_hosts"] = self.host.ssh_known_hosts
        conn, _client = await asyncio.wait_for(
            asyncssh.create_connection(Client, self.target.host, **options),
            self.timeout)
        self._conn = conn

    def forward(self, remote_path: str, what: str) -> str:
        """Forward a remote unix socket to a new private local one; returns its path."""
        if self._conn is None:
            raise HostError(self.host.name, f"ssh {self.target}: not connected")
        local = paths.runtime_dir() / f"{self.host.name}-{os.getpid()}-{id(self):x}-{what}.sock"
        with contextlib.suppress(FileNotFoundError):
            local.unlink()

        async def start() -> Any:
            return await self._conn.forward_local_path(str(local), remote_path)

        try:
            listener = run_sync(start(), self.timeout)
        except Exception as exc:
            raise HostError(self.host.name, f"ssh {self.target}: cannot forward "
                            f"{remote_path}: {exc}") from None
        os.chmod(local, 0o600)
        self._listeners.append(listener)
        self._sockets.append(local)
        return str(local)

    def run(self, command: str, timeout: float | None = None) -> tuple[int, str, str]:
        """Run a command on the host; (exit status, stdout, stderr)."""
        if self._conn is None:
            raise HostError(self.host.name, f"ssh {self.target}: not connected")

        async def go() -> Any:
            return await self._conn.run(command, check=False)

        try:
            result = run_sync(go(), timeout or self.timeout)
        except Exception as exc:
            raise HostError(self.host.name, f"ssh {self.target}: {command!r}: {exc}") from None
        return int(result.exit_status or 0), str(result.stdout), str(result.stderr)

    def open_pty(self, command: str, cols: int, rows: int) -> Any:
        """Start a command in a PTY of the given size; its asyncssh process (bytes)."""
        if self._conn is None:
            raise HostError(self.host.name, f"ssh {self.target}: not connected")

        async def start() -> Any:
            return await self._conn.create_process(
                command, term_type="xterm-256color", term_size=(cols, rows), encoding=None)

        try:
            return run_sync(start(), self.timeout)
        except Exception as exc:
            raise HostError(self.host.name, f"ssh {self.target}: {command!r}: {exc}") \
                from None

    def close(self) -> None:
        self._closing = True
        conn, self._conn = self._conn, None

        async def shut() -> None:
            for listener in self._listeners:
                listener.close()
            if conn is not None:
                conn.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.wait_closed(), 2)

        with contextlib.suppress(Exception):
            run_sync(shut(), 3)
        self._listeners.clear()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.unlink()
        self._sockets.clear()
