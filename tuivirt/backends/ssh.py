"""SSH transport: one asyncssh connection per remote host carries its sockets and commands.

asyncssh needs an asyncio loop; tuivirt keeps one process-wide loop in a daemon thread for
it, so the CLI (no loop of its own) and the Textual app (whose loop must stay free for
drawing) share one code path, and forwarding never waits on a busy UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time
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


#: How many SSH handshakes may run at once, process-wide (config `ssh_handshakes`). A stock
#: sshd drops new connections past 10 unauthenticated ones (MaxStartups 10:30:100):
#: without a cap, `tuivirt list` over 100 hosts behind one sshd listed 55 of them.
_handshake_limit = 8
_handshakes: asyncio.Semaphore | None = None  # made on the SSH loop, at the first use
#: A connection retried (CLI) waits 0.25, 0.5, 1, 2, 4, 4... s (each +-50% jitter, so
#: hosts refused together do not come back together).
RETRY_FIRST, RETRY_MAX = 0.25, 4.0
#: Tries for a connection refused outright (nothing listens: sshd down or restarting),
#: unlike one dropped mid-handshake by a busy sshd: trying until the deadline made
#: `tuivirt list` with one such host take 4 s.
REFUSED_TRIES = 2
#: Without a command deadline (the full-screen view), how long a handshake may wait for
#: its turn before the attempt counts as failed (the session then retries with backoff).
SLOT_WAIT_LIVE = 120.0


def set_handshake_limit(limit: int) -> None:
    """At most `limit` SSH handshakes at once in this process (from then on)."""
    global _handshake_limit, _handshakes
    if limit != _handshake_limit:
        _handshake_limit = max(1, limit)
        _handshakes = None


def _slots() -> asyncio.Semaphore:
    global _handshakes
    if _handshakes is None:
        _handshakes = asyncio.Semaphore(_handshake_limit)
    return _handshakes


class _NoSlot(Exception):
    """A handshake waited longer for its turn than it may."""


def transient(exc: BaseException) -> bool:
    """A failure worth another try: refused, reset or dropped while the server was busy
    (sshd's MaxStartups drops the connection: "Connection lost"), or timed out. Not: a
    host key, a refused login, no route to the host."""
    import asyncssh

    if isinstance(exc, asyncssh.HostKeyNotVerifiable | asyncssh.PermissionDenied):
        return False
    return isinstance(exc, ConnectionRefusedError | ConnectionResetError
                      | ConnectionAbortedError | BrokenPipeError | asyncssh.ConnectionLost
                      | TimeoutError | asyncio.TimeoutError | _NoSlot) or (
        isinstance(exc, asyncssh.DisconnectError) and "connection lost" in str(
            exc.reason).lower())


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


def default_ssh_config() -> list[str]:
    path = os.path.expanduser("~/.ssh/config")
    return [path] if os.access(path, os.R_OK) else []


#: How long a host's resolved ssh_config is reused while its files are unchanged. A
#: file `Include`d by them is not watched: an edit there shows within this long.
ALIAS_REUSE_FOR = 30.0
_aliases: dict[tuple[Any, ...], tuple[float, tuple[Any, ...], dict[str, Any]]] = {}
_aliases_lock = threading.Lock()


def _stamps(paths: list[str]) -> tuple[Any, ...]:
    found: list[tuple[Any, ...]] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            found.append((path, None))
        else:
            found.append((path, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(found)


def resolve_alias(config_paths: list[str], host: str, user: str | None = None,
                  port: int | None = None) -> dict[str, Any]:
    """What an ssh_config says for `host` (HostName, User, Port, ProxyJump,
    UserKnownHostsFile, HostKeyAlias...), as asyncssh itself reads it.

    asyncssh parses the whole file for each host (3.4 ms for the lab's 147-line fleet
    config: 0.4 s of the GIL for 120 hosts). A host's answer is reused while the files
    are unchanged, for ALIAS_REUSE_FOR: a wave of reconnects after a cut link pays for
    none of it."""
    key = (tuple(config_paths), host, user, port)
    stamps = _stamps(config_paths)
    now = time.monotonic()
    with _aliases_lock:
        known = _aliases.get(key)
    if known is not None and known[1] == stamps and now - known[0] < ALIAS_REUSE_FOR:
        return dict(known[2])
    options = _parse_alias(config_paths, host, user, port)
    with _aliases_lock:
        _aliases[key] = (now, stamps, options)
    return dict(options)


def _parse_alias(config_paths: list[str], host: str, user: str | None,
                 port: int | None) -> dict[str, Any]:
    import getpass

    from asyncssh.config import SSHClientConfig

    try:
        local_user = getpass.getuser()
    except (KeyError, OSError):
        local_user = "root"
    config = SSHClientConfig.load(None, config_paths, False, False, False, local_user,
                                  user if user else (), host, port if port else ())
    return dict(config._options)


def known_hosts_from(options: dict[str, Any], configured: str | None) -> str:
    """The known_hosts file tuivirt checks a host key against: the host's
    `ssh_known_hosts`, else the first of ssh_config's UserKnownHostsFile, else
    ~/.ssh/known_hosts. `none` and /dev/null (which mean "check nothing") are never
    used: tuivirt always checks."""
    if configured:
        return configured
    for entry in options.get("UserKnownHostsFile") or []:
        path = os.path.expanduser(str(entry))
        if path.lower() != "none" and os.path.realpath(path) != "/dev/null":
            return path
    return default_known_hosts()


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
        # asyncio's own words ("Connect call failed ('10.0.0.9', 22)") hide the reason.
        import socket

        if isinstance(exc, socket.gaierror):  # errno is a resolver code, not an OS one
            return f"ssh {target}: cannot resolve the host name: {exc.strerror or exc}"
        reason = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
        return f"ssh {target}: {reason}"
    return f"ssh {target}: {exc}"


#: Ciphers offered first when the host's ssh_config names none: AES-GCM is one call into
#: OpenSSL a packet (2 us here, with AES-NI on both ends) where asyncssh's
#: chacha20-poly1305 builds three cipher objects a packet (13 us); with 100 hosts' probes
#: and listings the SSH loop's packets are most of tuivirt's CPU. The rest of asyncssh's
#: own list follows, in its order.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def cipher_order() -> list[str]:
    from asyncssh.encryption import get_default_encryption_algs

    known = [alg.decode() for alg in get_default_encryption_algs()]
    return [c for c in PREFERRED_CIPHERS if c in known] + [
        c for c in known if c not in PREFERRED_CIPHERS]


#: An SSH connection silent this long sends a keepalive (3 unanswered: lost). Any data
#: received (a probe's answer) restarts the wait.
KEEPALIVE_EVERY = 5.0


class SSHTunnel:
    """An SSH connection to a host, forwarding its unix sockets to private local ones."""

    def __init__(self, host: HostConfig, *, timeout: float = 10.0,
                 on_lost: Callable[[str], None] | None = None,
                 keepalive: float = KEEPALIVE_EVERY) -> None:
        assert host.ssh is not None
        self.host = host
        self.target = host.ssh
        self.timeout = timeout
        self.keepalive = keepalive  # seconds of silence before a keepalive is sent
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
        self._jumps: list[Any] = []  # ProxyJump connections under this one, outermost first
        self._config_paths = [host.ssh_config] if host.ssh_config else default_ssh_config()
        self._config_problem = ""
        try:
            self._options_of = resolve_alias(self._config_paths, self.target.host,
                                             self.target.user, self.target.port)
        except Exception as exc:  # asyncssh's ConfigParseError, an unreadable file
            self._options_of, self._config_problem = {}, f"{exc}"
        # Always one file tuivirt names and checks: asyncssh given `UserKnownHostsFile
        # none` would check no host key at all, so that never reaches it.
        self.known_hosts = known_hosts_from(self._options_of, host.ssh_known_hosts)
        self._failed: tuple[str, str] | None = None  # (hop, its known_hosts) that failed

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def connect(self, deadline: float | None = None) -> None:
        """Connect, or raise HostError saying why.

        deadline (time.monotonic()): a command's; a refused, reset or timed-out handshake
        is tried again with backoff until then. None (the full-screen view): one try;
        the session reconnects with its own backoff.
        """
        if self._config_problem:
            raise HostError(self.host.name, f"ssh {self.target}: cannot read ssh_config "
                            f"{', '.join(self._config_paths)}: {self._config_problem}")
        attempt = 0
        while True:
            now = time.monotonic()
            slot_wait = SLOT_WAIT_LIVE if deadline is None else max(0.0, deadline - now)
            timeout = self.timeout if deadline is None else max(
                0.5, min(self.timeout, deadline - now))
            try:
                run_sync(self._connect(slot_wait, timeout),
                         slot_wait + (2 + len(self._jumps_of(self._options_of))) * timeout + 1)
                return
            except HostError:
                raise
            except BaseException as exc:  # asyncssh raises a wide family
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                self._close_jumps()
                attempt += 1
                pause = min(RETRY_MAX, RETRY_FIRST * 2 ** (attempt - 1))
                pause *= random.uniform(0.5, 1.5)
                refused_enough = (isinstance(exc, ConnectionRefusedError)
                                  and attempt >= REFUSED_TRIES)
                if (deadline is not None and transient(exc) and not refused_enough
                        and time.monotonic() + pause + 0.5 < deadline):
                    time.sleep(pause)
                    continue
                target, known = self._failed or (str(self.target), self.known_hosts)
                if isinstance(exc, _NoSlot):
                    message = (f"ssh {target}: still waiting for a turn to connect (at "
                               f"most {_handshake_limit} SSH handshakes at once)")
                else:
                    message = describe_ssh_error(self.host.name, target, exc, known,
                                                 self._offered)
                if attempt > 1:
                    message += f" (tried {attempt} times)"
                raise HostError(self.host.name, message) from None

    @staticmethod
    def _jumps_of(options: dict[str, Any]) -> list[str]:
        jump = str(options.get("ProxyJump") or "")
        return [] if not jump or jump.lower() == "none" else [
            hop.strip() for hop in jump.split(",") if hop.strip()]

    def _close_jumps(self) -> None:
        jumps, self._jumps = self._jumps, []
        for conn in reversed(jumps):
            with contextlib.suppress(Exception):
                self._loop_call(conn.close)

    @staticmethod
    def _loop_call(fn: Callable[[], Any]) -> None:
        ssh_loop().call_soon_threadsafe(fn)

    async def _connect(self, slot_wait: float, timeout: float) -> None:
        self._offered = None
        self._failed = None
        via = await self._open_jumps(self._options_of, slot_wait, timeout, depth=0)
        identity = [self.host.ssh_identity] if self.host.ssh_identity else None
        self._conn = await self._handshake(
            self.target.host, self.target.user, self.target.port, self.known_hosts,
            identity, via, slot_wait, timeout, str(self.target), outer=True,
            ciphers_set="Ciphers" in self._options_of)

    async def _open_jumps(self, options: dict[str, Any], slot_wait: float, timeout: float,
                          depth: int) -> Any:
        """The ProxyJump chain in front of a host, opened by us (not asyncssh), so each
        hop's key is checked as strictly as the host's; its last connection, or None."""
        hops = self._jumps_of(options)
        if depth > 8:
            raise HostError(self.host.name, f"ssh {self.target}: ProxyJump nested more "
                            "than 8 deep (a loop in the ssh_config?)")
        via = None
        for hop in hops:
            user, _at, rest = hop.rpartition("@")
            name, port = rest, None
            if rest.count(":") == 1:
                name, _colon, port_text = rest.partition(":")
                port = int(port_text) if port_text.isdigit() else None
            hop_options = resolve_alias(self._config_paths, name, user or None, port)
            if via is None:  # the first hop may sit behind its own ProxyJump
                via = await self._open_jumps(hop_options, slot_wait, timeout, depth + 1)
            known = known_hosts_from(hop_options, self.host.ssh_known_hosts)
            label = f"{hop} (ProxyJump of {self.target})"
            via = await self._handshake(name, user or None, port, known, None, via,
                                        slot_wait, timeout, label, outer=False,
                                        ciphers_set="Ciphers" in hop_options)
            self._jumps.append(via)
        return via

    async def _handshake(self, host: str, user: str | None, port: int | None,
                         known_hosts: str, identity: list[str] | None, via: Any,
                         slot_wait: float, timeout: float, label: str, *,
                         outer: bool, ciphers_set: bool = False) -> Any:
        """One SSH connection, in its turn (at most `ssh_handshakes` at once).
        ciphers_set: the ssh_config names its Ciphers (then asyncssh takes those)."""
        import asyncssh

        tunnel = self

        class Client(asyncssh.SSHClient):
            def connection_lost(self, exc: Exception | None) -> None:
                if tunnel._closing or not outer:
                    return  # a hop's loss ends the host's connection over it too
                tunnel._conn = None
                if tunnel.on_lost is not None:
                    reason = f"ssh connection lost: {exc}" if exc else "ssh connection closed"
                    tunnel.on_lost(reason)

            def validate_host_public_key(self, host: str, addr: str, port: int,
                                         key: asyncssh.SSHKey) -> bool:
                # Called only for a key known_hosts does not trust: note it, refuse it.
                tunnel._offered = OfferedKey(host, addr, port, key.get_algorithm(),
                                             key.get_fingerprint("sha256"))
                tunnel._failed = (label, known_hosts)
                return False

        options: dict[str, Any] = {
            "config": self._config_paths,
            # Ours (or none): asyncssh's own would check the hops' keys its own way.
            "tunnel": via,
            "connect_timeout": timeout,
            "login_timeout": timeout,
            "keepalive_interval": self.keepalive,
            "keepalive_count_max": 3,
            # Never prompt: keys, the agent and certificates only.
            "kbdint_auth": False,
            "password_auth": False,
        }
        if not ciphers_set:
            options["encryption_algs"] = cipher_order()
        if user:
            options["username"] = user
        if port:
            options["port"] = port
        if identity:
            options["client_keys"] = identity
        # A file that does not exist trusts nothing (as asyncssh's own default does).
        options["known_hosts"] = known_hosts if os.path.exists(known_hosts) else b""
        slots = _slots()
        try:
            await asyncio.wait_for(slots.acquire(), slot_wait)
        except TimeoutError:
            self._failed = (label, known_hosts)
            raise _NoSlot() from None
        try:
            conn, _client = await asyncio.wait_for(
                asyncssh.create_connection(Client, host, **options), timeout)
        except BaseException:
            if self._failed is None:
                self._failed = (label, known_hosts)
            raise
        finally:
            slots.release()
        return conn

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
        """Start a command without a PTY (its output byte for byte, stderr apart, as
        `tail -F` of a log or a build context's tar wants); its asyncssh process (bytes):
        read `stdout` and `wait()` it on the SSH loop (run_sync). The caller quotes
        `command`."""
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

        jumps, self._jumps = self._jumps, []

        async def shut() -> None:
            for listener in self._listeners:
                listener.close()
            for each in [conn, *reversed(jumps)]:
                if each is not None:
                    each.close()
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(each.wait_closed(), 2)

        with contextlib.suppress(Exception):
            run_sync(shut(), 3)
        self._listeners.clear()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.unlink()
        self._sockets.clear()
        self._forwards.clear()
