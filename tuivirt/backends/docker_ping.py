"""Docker's liveness probe, made cheap: `GET /_ping` on a unix socket kept open.

The SDK's ping (requests, urllib3, an adapter, its pool) costs ~1.2 ms of CPU, plus a
deadline thread per call; a fleet view probes every host every few seconds, so at 100
hosts that was the largest share of the idle CPU. This sends the one request itself, on a
connection kept open between probes, bounded by the socket's own timeout (no thread): a
hung daemon answers nothing and the probe fails after `timeout` seconds, as before.
"""

from __future__ import annotations

import contextlib
import socket
import time

REQUEST = b"GET /_ping HTTP/1.1\r\nHost: docker\r\nUser-Agent: tuivirt\r\n\r\n"
#: Headers longer than this are not Docker's /_ping answer.
MAX_HEADER = 16 * 1024


class PingError(Exception):
    """The daemon did not answer the ping as a live one does (the words are ours)."""


class Pinger:
    """`GET /_ping` to a Docker daemon's unix socket, one connection kept open."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None

    def ping(self) -> None:
        """One round trip; PingError when it fails or times out (the socket is then
        closed, the next ping connects again)."""
        end = time.monotonic() + self.timeout
        try:
            sock = self._sock
            if sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._sock = sock
                sock.settimeout(self.timeout)
                sock.connect(self.path)
            sock.settimeout(self.timeout)
            sock.sendall(REQUEST)
            keep = self._read_answer(sock, end)
        except PingError:
            self.close()
            raise
        except TimeoutError:
            self.close()
            raise PingError(f"no answer to ping after {self.timeout:g} s: the daemon may "
                            "be hung") from None
        except OSError as exc:
            self.close()
            raise PingError(_os_words(exc)) from None
        if not keep:
            self.close()

    def _read_answer(self, sock: socket.socket, end: float) -> bool:
        """Read one answer; True if the connection may be used again."""
        data = b""
        while b"\r\n\r\n" not in data:
            if len(data) > MAX_HEADER:
                raise PingError("ping: answer is not HTTP")
            data += self._recv(sock, end)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise PingError("ping: answer is not HTTP")
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        keep = headers.get(b"connection") != b"close"
        length = headers.get(b"content-length")
        if length is not None and length.isdigit():
            while len(body) < int(length):
                body += self._recv(sock, end)
        elif headers.get(b"transfer-encoding") == b"chunked":
            while not body.endswith(b"0\r\n\r\n"):
                if len(body) > MAX_HEADER:
                    raise PingError("ping: answer is not HTTP")
                body += self._recv(sock, end)
        else:
            keep = False  # the body ends with the connection: do not wait for it
        if status != 200:
            raise PingError(f"ping answered HTTP {status}")
        return keep

    @staticmethod
    def _recv(sock: socket.socket, end: float) -> bytes:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            raise PingError("the daemon closed the connection")
        return chunk

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):  # wakes a ping waiting on another thread
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _os_words(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror.lower() if exc.strerror else type(exc).__name__
