"""Docker's liveness probe speaks `GET /_ping` itself on a connection kept open, bounded
by its socket's timeout: the SDK's ping (requests) and a deadline thread per call were
the largest share of a 100-host fleet's idle CPU. A hung daemon still fails it in time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tuivirt.backends.deadline import Deadline
from tuivirt.backends.docker import DockerEndpoint
from tuivirt.errors import HostError

OK = b"HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nContent-Length: 2\r\n\r\nOK"


class FakeDaemon:
    """A unix socket answering each request with `answer(n)` (None: say nothing)."""

    def __init__(self, path: Path, answer: Callable[[int], bytes | None]) -> None:
        self.path = str(path)
        self.answer = answer
        self.connections = 0
        self.requests = 0
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
                while b"\r\n\r\n" in data:
                    request, _, data = data.partition(b"\r\n\r\n")
                    assert request.startswith(b"GET /_ping HTTP/1.1")
                    self.requests += 1
                    reply = self.answer(self.requests)
                    if reply is None:
                        time.sleep(30)  # SIGSTOPped: the socket is open, nothing answers
                        return
                    conn.sendall(reply)
                    if b"Connection: close" in reply:
                        return


@pytest.fixture()
def sock_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield Path(tmp_path_factory.mktemp("dk"))  # short: a unix socket path is <= 107


def endpoint(daemon: FakeDaemon, timeout: float = 5.0) -> DockerEndpoint:
    found = DockerEndpoint("h", f"unix://{daemon.path}", timeout=timeout,
                           deadline=Deadline("h", "docker", timeout))
    found.api = object()  # opened (the SDK client is not what the probe uses)
    return found


def test_probes_ride_one_connection_and_start_no_thread(sock_dir: Path) -> None:
    daemon = FakeDaemon(sock_dir / "d.sock", lambda _n: OK)
    docker = endpoint(daemon)
    docker.probe()
    threads = threading.active_count()
    started = []
    original = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    threading.Thread.start = counting_start  # type: ignore[method-assign]
    try:
        for _ in range(50):
            docker.probe()
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]
    assert daemon.requests == 51 and daemon.connections == 1
    assert started == [] and threading.active_count() == threads
    docker.close()


def test_a_closed_or_refusing_connection_is_made_again_and_errors_are_ours(
        sock_dir: Path) -> None:
    replies = {2: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK",
               4: b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\n\x1b[2Jno"}
    daemon = FakeDaemon(sock_dir / "d.sock", lambda n: replies.get(n, OK))
    docker = endpoint(daemon)
    docker.probe()
    docker.probe()  # the daemon closes after this answer
    docker.probe()  # a new connection
    assert daemon.connections == 2
    with pytest.raises(HostError) as failed:
        docker.probe()
    assert "ping answered HTTP 500" in failed.value.message
    assert "\x1b" not in failed.value.message  # the daemon's own text is not repeated
    docker.probe()
    assert daemon.connections == 3
    docker.close()
    gone = endpoint(FakeDaemon(sock_dir / "e.sock", lambda _n: OK))
    Path(gone.url.removeprefix("unix://")).unlink()
    with pytest.raises(HostError) as failed:
        gone.probe()
    assert "connection refused" in failed.value.message or "no such file" in \
        failed.value.message


def test_a_hung_daemon_fails_the_probe_within_the_timeout(sock_dir: Path) -> None:
    daemon = FakeDaemon(sock_dir / "d.sock", lambda n: OK if n == 1 else None)
    docker = endpoint(daemon, timeout=0.5)
    docker.probe()
    began = time.monotonic()
    with pytest.raises(HostError) as failed:
        docker.probe()
    assert time.monotonic() - began < 1.5
    assert "may be hung" in failed.value.message


def test_a_probe_is_refused_at_once_while_an_earlier_call_is_stuck(sock_dir: Path) -> None:
    daemon = FakeDaemon(sock_dir / "d.sock", lambda _n: OK)
    docker = endpoint(daemon, timeout=0.2)
    assert docker.deadline is not None
    release = threading.Event()
    with pytest.raises(HostError):
        docker.deadline.run("list", release.wait, 5)  # outlives its deadline: stuck
    try:
        with pytest.raises(HostError) as failed:
            docker.probe()
        assert "still waiting" in failed.value.message and daemon.requests == 0
    finally:
        release.set()
