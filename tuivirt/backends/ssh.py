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
from dataclasses import dataclass
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


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
    """Run a coroutine on the SSH loop from a plain thread, bounded in time (None: a
    stream's read, which waits for data as long as it takes)."""
    future = asyncio.run_coroutine_threadsafe(coro, ssh_loop())
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise


def default_known_hosts() -> str:
    return os.path.expanduser("~/.ssh/known_hosts")


@dataclass(frozen=True, slots=True)
class OfferedKey:
    """The host key a server presented and asyncssh did not trust, and whom it was for."""

    host: str  # the name (or HostKeyAlias) known_hosts entries are matched against
    addr: str  # the peer's address, matched too
    port: int
    algorithm: str
    fingerprint: str  # SHA256:...


def recorded_lines(path: str, host: str, addr: str, port: int) -> list[tuple[int, str]]:
    """The known_hosts lines that record a key for this host: [(line number, marker)].

    Matched as asyncssh matches (patterns, `[host]:port`, hashed `|1|...` entries), one
    line at a time so the line can be named; marker is "" or "revoked". A line asyncssh
    cannot read is skipped (it skips it too, or refuses the whole file).
    """
    import asyncssh

    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    entries: list[tuple[int, Any]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            entries.append((number, asyncssh.import_known_hosts(text)))
        except (ValueError, asyncssh.KeyImportError):
            continue

    def matching(names: list[tuple[str, str]]) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        for number, entry in entries:
            keys, revoked = [], []
            for name, address in names:
                try:
                    result = entry.match(name, address, None)
                except ValueError:
                    continue
                keys += result[0]
                revoked += result[2]
            if revoked:
                found.append((number, "revoked"))
            elif keys:
                found.append((number, ""))
        return found

    # As asyncssh matches a whole file: `[host]:port` entries first, then, only when
    # none records a key, the plain host (no address: "[a]:port" is no IP address).
    if port != 22:
        found = matching([(f"[{host}]:{port}", ""), (f"[{addr}]:{port}", "")])
        if any(marker == "" for _number, marker in found):
            return found
    return matching([(host, addr)])


def describe_host_key_refusal(target: str, reason: str, known_hosts: str,
                              offered: OfferedKey | None) -> str:
    """An unknown host key (say how to trust it) apart from a changed one (an alarm)."""
    presented = (f" (it presents the {offered.algorithm} key {offered.fingerprint})"
                 if offered else "")
    lines = (recorded_lines(known_hosts, offered.host, offered.addr, offered.port)
             if offered else [])
    revoked = [n for n, marker in lines if marker == "revoked"]
    if "revoked" in reason.lower() or revoked:
        where = f"{known_hosts}:{revoked[0]}" if revoked else known_hosts
        return (f"ssh {target}: HOST KEY REVOKED: the key this host presents is marked "
                f"@revoked in {where}. Refused; nothing was sent to the host.")
    if lines:
        where = ", ".join(f"{known_hosts}:{n}" for n, _marker in lines)
        return (f"ssh {target}: HOST KEY CHANGED: the host's identity is not the one "
                f"recorded in {where}{presented}. Someone may be intercepting the "
                "connection (a man-in-the-middle attack), or the host was reinstalled. "
                "Refused; nothing was sent to the host. Find out which from the host's "
                "owner before anything else.")
    missing = "" if os.path.exists(known_hosts) else " (no such file)"
    return (f"ssh {target}: host key not verified: the host is not in {known_hosts}"
            f"{missing}{presented}. Check the key's fingerprint with the host's owner, "
            f"then add it to {known_hosts} (e.g. by connecting once with ssh).")


def describe_ssh_error(host: str, target: str, exc: BaseException,
                       known_hosts: str | None, offered: OfferedKey | None = None) -> str:
    """Turn asyncssh's and the OS's errors into a sentence a user can act on."""
    import asyncssh

    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return describe_host_key_refusal(target, str(exc.reason),
                                         known_hosts or default_known_hosts(), offered)
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
        self._forwards: dict[tuple[str, str], str] = {}  # (remote path, what) -> local
        # qemu:///system and lxc:///system open at once and forward the same socket: the
        # second must wait for the first's forward, not unlink its socket file.
        self._forward_lock = threading.Lock()
        self._closing = False
        self._offered: OfferedKey | None = None  # a host key asyncssh did not trust
        # Always the one file tuivirt names, never what ~/.ssh/config says: with
        # `UserKnownHostsFile none` there, asyncssh would check no host key at all.
        self.known_hosts = host.ssh_known_hosts or default_known_hosts()

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
                self.host.name, str(self.target), exc, self.known_hosts,
                self._offered)) from None

    async def _connect(self) -> None:
        import asyncssh

        tunnel = self
        self._offered = None

        class Client(asyncssh.SSHClient):
            def connection_lost(self, exc: Exception | None) -> None:
                if tunnel._closing:
                    return
                tunnel._conn = None
                if tunnel.on_lost is not None:
                    reason = f"ssh connection lost: {exc}" if exc else "ssh connection closed"
                    tunnel.on_lost(reason)

            def validate_host_public_key(self, host: str, addr: str, port: int,
                                         key: asyncssh.SSHKey) -> bool:
                # Called only for a key known_hosts does not trust: note it, refuse it.
                tunnel._offered = OfferedKey(host, addr, port, key.get_algorithm(),
                                             key.get_fingerprint("sha256"))
                return False

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
        # A file that does not exist trusts nothing (as asyncssh's own default does).
        options["known_hosts"] = self.known_hosts if os.path.exists(self.known_hosts) else b""
        conn, _client = await asyncio.wait_for(
            asyncssh.create_connection(Client, self.target.host, **options),
            self.timeout)
        self._conn = conn

    def forward(self, remote_path: str, what: str) -> str:
        """Forward a remote unix socket to a private local one; returns its path.

        One forward per remote socket for the connection's life: each client connection
        to it opens a new channel, so an endpoint reopened after its daemon restarted
        (every few seconds while it is down) reuses it instead of piling up listeners.
        """
        with self._forward_lock:
            return self._forward(remote_path, what)

    def _forward(self, remote_path: str, what: str) -> str:
        if self._conn is None:
            raise HostError(self.host.name, f"ssh {self.target}: not connected")
        known = self._forwards.get((remote_path, what))
        if known is not None:
            return known
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
        self._forwards[remote_path, what] = str(local)
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

    def open_process(self, command: str) -> Any:
        """Start a command without a PTY (its output byte for byte, as `tail -F` of a
        log wants); its asyncssh process (bytes). The caller quotes `command`."""
        if self._conn is None:
            raise HostError(self.host.name, f"ssh {self.target}: not connected")

        async def start() -> Any:
            return await self._conn.create_process(command, encoding=None)

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
        self._forwards.clear()
