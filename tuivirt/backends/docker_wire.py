"""Docker's engine API spoken directly for the calls a fleet makes all the time.

`GET /_ping` (liveness, and the API version the daemon speaks), the container listing,
inspect and one-shot stats go over one unix-socket connection kept open, each bounded by
the socket's own timeout: no thread, no pool. Through the Docker SDK (requests, urllib3,
an adapter, a deadline thread per call) each of these cost ~1.2-2 ms of CPU; a fleet
view asks them of every host every few seconds, and `tuivirt list` over 100 SSH hosts
spent more CPU on its Docker endpoints than on SSH. The SDK's `version="auto"` also
asked `GET /version` of every daemon at open, which makes dockerd run `runc --version`
and `docker-init --version` (5 ms of the daemon's CPU against 0.35 ms for a ping):
the version now comes from the ping's `Api-Version` header.

Everything else (actions, creation, images, logs, events, consoles) stays on the SDK.
A daemon's words (an error's `message`) are returned as they are: callers put them in
HostError/GuestError messages, which reach the terminal only made inert.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

#: Headers longer than this are not Docker's answer.
MAX_HEADER = 16 * 1024
#: An answer larger than this is refused (a listing of every container of a big host is
#: a few MB).
MAX_BODY = 256 * 1024 * 1024
#: An event (one JSON line) larger than this is not Docker's.
MAX_EVENT = 1024 * 1024
#: The newest API version our wire calls are written against; a newer daemon is asked in
#: this one (as the SDK pins its own default).
API_CAP = (1, 45)
#: One-shot stats (the counters now, no second sample) exist from this version on.
ONE_SHOT_FROM = (1, 41)


class WireError(Exception):
    """The daemon did not answer as a live one does (the words are ours)."""


class WireTimeout(WireError):
    """No (whole) answer within the timeout: the daemon may be hung."""


class DockerWire:
    """HTTP/1.1 GETs to one Docker daemon's unix socket, one connection kept open.

    Safe from several threads: one request at a time, and a caller waits for its turn
    no longer than its own timeout."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self.prefix = ""  # "/v1.41" once the version is known
        self.version: tuple[int, int] | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- the calls ------------------------------------------------------------------------
    def ping(self) -> tuple[int, int] | None:
        """One round trip; the API version the daemon speaks (capped at ours), or None
        when it does not say. WireError when it fails, WireTimeout when it hangs."""
        status, headers, _body = self.get("/_ping", what="ping")
        if status != 200:
            raise WireError(f"ping answered HTTP {status}")
        version = parse_version(headers.get("api-version", ""))
        if version is not None:
            self.version = min(version, API_CAP)
            self.prefix = f"/v{version_text(self.version)}"
        return self.version

    def containers(self) -> list[dict[str, Any]]:
        """`GET /containers/json?all=1`: every container's summary."""
        found = self.get_json("/containers/json?all=1", "containers")
        if not isinstance(found, list):
            raise WireError("containers: the answer is not a list")
        return [c for c in found if isinstance(c, dict)]

    def inspect(self, container_id: str) -> dict[str, Any] | None:
        """`GET /containers/ID/json`; None when there is no such container."""
        found = self.get_json(f"/containers/{quote(container_id, safe='')}/json",
                              "inspect", missing=(404,))
        if found is not None and not isinstance(found, dict):
            raise WireError("inspect: the answer is not an object")
        return found

    def stats(self, container_id: str) -> dict[str, Any] | None:
        """The container's counters now (one-shot where the daemon has it); None when it
        is gone or no longer running."""
        query = "stream=0"
        if self.version is not None and self.version >= ONE_SHOT_FROM:
            query += "&one-shot=1"
        found = self.get_json(f"/containers/{quote(container_id, safe='')}/stats?{query}",
                              "stats", missing=(404, 409))
        if found is not None and not isinstance(found, dict):
            raise WireError("stats: the answer is not an object")
        return found

    def events(self, filters: dict[str, list[str]]) -> EventStream:
        """`GET /events` on a connection of its own: the stream of the daemon's events
        (the answer's head bounded by the timeout, then waiting as long as it takes)."""
        path = f"{self.prefix}/events?filters={quote(json.dumps(filters), safe='')}"
        end = time.monotonic() + self.timeout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
            sock.sendall(_request(path))
            reader = _Reader(sock, end)
            status, headers = _parse_head(reader.until(b"\r\n\r\n", MAX_HEADER, "headers"))
            if status != 200:
                raise WireError(f"events answered HTTP {status}")
            if headers.get("transfer-encoding", "").lower() != "chunked":
                raise WireError("events: the answer is not a stream")
        except TimeoutError:
            sock.close()
            raise WireTimeout(f"no answer to events after {self.timeout:g} s: the daemon "
                              "may be hung") from None
        except OSError as exc:
            sock.close()
            raise WireError(os_words(exc)) from None
        except WireError:
            sock.close()
            raise
        reader.end = None  # from now on: wait for events as long as it takes
        return EventStream(sock, reader)

    def get_json(self, path: str, what: str, missing: tuple[int, ...] = ()) -> Any:
        """A GET under the API version's prefix, its JSON; None for a `missing` status;
        WireError naming the daemon's own message for any other failure."""
        status, _headers, body = self.get(self.prefix + path, what=what)
        if status in missing:
            return None
        try:
            found = json.loads(body) if body else None
        except ValueError:
            raise WireError(f"{what}: the answer (HTTP {status}) is not JSON") from None
        if status != 200:
            message = found.get("message") if isinstance(found, dict) else None
            raise WireError(f"{what}: {message}" if isinstance(message, str) and message
                            else f"{what} answered HTTP {status}")
        return found

    def get(self, path: str, *, what: str = "request") -> tuple[int, dict[str, str], bytes]:
        """(status, headers with lower-case names, body). A connection the daemon closed
        while it sat idle is made again once (a GET may be asked again)."""
        end = time.monotonic() + self.timeout
        if not self._lock.acquire(timeout=self.timeout):
            raise WireTimeout(f"no answer to {what} after {self.timeout:g} s: an earlier "
                              "call is still waiting; the daemon may be hung")
        try:
            for attempt in (1, 2):
                if self._closed:
                    raise WireError("closed")
                reused = self._sock is not None
                try:
                    return self._exchange(path, end)
                except _Stale:
                    self._close_socket()
                    if not reused or attempt == 2:
                        raise WireError("the daemon closed the connection") from None
                except TimeoutError:
                    self._close_socket()
                    raise WireTimeout(f"no answer to {what} after {self.timeout:g} s: "
                                      "the daemon may be hung") from None
                except WireError:
                    self._close_socket()
                    raise
                except OSError as exc:
                    self._close_socket()
                    raise WireError(os_words(exc)) from None
            raise AssertionError("unreachable")
        finally:
            self._lock.release()

    def close(self) -> None:
        """Close the connection for good (wakes a call waiting on it in another
        thread, which then fails)."""
        self._closed = True
        self._close_socket()

    # -- HTTP -----------------------------------------------------------------------------
    def _close_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _exchange(self, path: str, end: float) -> tuple[int, dict[str, str], bytes]:
        sock = self._sock
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock = sock
            sock.settimeout(max(0.001, end - time.monotonic()))
            sock.connect(self.path)
        sock.settimeout(max(0.001, end - time.monotonic()))
        try:
            sock.sendall(_request(path))
        except (BrokenPipeError, ConnectionResetError):
            raise _Stale() from None
        reader = _Reader(sock, end)
        try:
            head = reader.until(b"\r\n\r\n", MAX_HEADER, "headers")
        except _Closed:
            raise _Stale() from None  # closed before it said anything
        status, headers = _parse_head(head)
        keep = headers.get("connection", "").lower() != "close"
        length = headers.get("content-length")
        if status in (204, 304) or 100 <= status < 200:
            body = b""
        elif length is not None:
            if not length.isdigit() or int(length) > MAX_BODY:
                raise WireError("the answer's length is not one we take")
            body = reader.exactly(int(length))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = reader.chunked()
        else:
            body = reader.rest()  # the body ends with the connection
            keep = False
        if not keep:
            self._close_socket()
        return status, headers, body


class EventStream:
    """The daemon's events as they come, one JSON object each; ends (StopIteration) when
    the daemon ends the stream, or at close() from any thread."""

    def __init__(self, sock: socket.socket, reader: _Reader) -> None:
        self._sock = sock
        self._reader = reader
        self._lines = bytearray()
        self._closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            while (data := self._reader.chunk(MAX_EVENT - len(self._lines))) is not None:
                self._lines += data
                while (cut := self._lines.find(b"\n")) >= 0:
                    line = bytes(self._lines[:cut]).strip()
                    del self._lines[:cut + 1]
                    if not line:
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        raise WireError("events: an event is not JSON") from None
                    if isinstance(event, dict):
                        yield event
        except (_Closed, OSError):
            if self._closed:
                return
            raise WireError("the daemon closed the event stream") from None

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


class _Stale(Exception):
    """A kept connection that turned out closed before any answer."""


class _Closed(WireError):
    def __init__(self) -> None:
        super().__init__("the daemon closed the connection")


class _Reader:
    """Bytes from the socket, each read bounded by what is left of the call's time."""

    def __init__(self, sock: socket.socket, end: float | None) -> None:
        self.sock = sock
        self.end = end  # None: no deadline (an event stream)
        self.buf = bytearray()

    def _fill(self) -> None:
        if self.end is None:
            self.sock.settimeout(None)
        else:
            left = self.end - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise _Closed()
        self.buf += chunk

    def until(self, mark: bytes, limit: int, what: str) -> bytes:
        start = 0
        while (found := self.buf.find(mark, start)) < 0:
            if len(self.buf) > limit:
                raise WireError(f"the answer's {what} are too long: not Docker's")
            start = max(0, len(self.buf) - len(mark) + 1)
            self._fill()
        if found > limit:
            raise WireError(f"the answer's {what} are too long: not Docker's")
        taken = bytes(self.buf[:found])
        del self.buf[:found + len(mark)]
        return taken

    def exactly(self, count: int) -> bytes:
        while len(self.buf) < count:
            self._fill()
        taken = bytes(self.buf[:count])
        del self.buf[:count]
        return taken

    def chunk(self, limit: int) -> bytes | None:
        """The next chunk of a chunked body (at most `limit` bytes); None after the last
        one (its trailers read)."""
        line = self.until(b"\r\n", 1024, "chunk sizes")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise WireError("the answer's chunks are not HTTP") from None
        if size < 0 or size > limit:
            raise WireError("the answer is too large")
        if size == 0:
            while self.until(b"\r\n", MAX_HEADER, "trailers"):
                pass  # trailers, up to the empty line
            return None
        data = self.exactly(size)
        if self.exactly(2) != b"\r\n":
            raise WireError("the answer's chunks are not HTTP")
        return data

    def chunked(self) -> bytes:
        body = bytearray()
        while (data := self.chunk(MAX_BODY - len(body))) is not None:
            body += data
        return bytes(body)

    def rest(self) -> bytes:
        while True:
            if len(self.buf) > MAX_BODY:
                raise WireError("the answer is too large")
            try:
                self._fill()
            except _Closed:
                taken = bytes(self.buf)
                self.buf.clear()
                return taken


def _request(path: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: tuivirt\r\n\r\n"
            .encode("ascii", "replace"))


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise WireError("the answer is not HTTP")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return int(parts[1]), headers


def quote(text: str, safe: str = "") -> str:
    """Percent-encoding for a URL path segment or query value (urllib.parse's, imported
    here: it pulls in ipaddress, ~3 ms that `tuivirt list` need not pay)."""
    from urllib.parse import quote as url_quote

    return url_quote(text, safe=safe)


def parse_version(text: str) -> tuple[int, int] | None:
    """"1.41" -> (1, 41); None for anything else."""
    major, dot, minor = text.strip().partition(".")
    if not dot or not major.isdigit() or not minor.isdigit():
        return None
    return int(major), int(minor)


def version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def os_words(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror.lower() if exc.strerror else type(exc).__name__
