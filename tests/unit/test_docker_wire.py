"""Docker's frequent calls (ping, listing, inspect, stats) speak HTTP themselves on a
connection kept open, bounded by its socket's timeout: through the SDK (requests) and a
deadline thread per call they were the largest share of a 100-host fleet's CPU. A hung
daemon still fails them in time; a daemon's odd answers are errors in our words."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tuivirt.backends.deadline import Deadline
from tuivirt.backends.docker import DockerEndpoint
from tuivirt.errors import HostError

OK = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK"
ROOT = Path(__file__).resolve().parents[2]
HANG_UP = b"\0hang up"


def reply(status: int, body: bytes, *, chunked: bool = False, close: bool = False) -> bytes:
    head = f"HTTP/1.1 {status} X\r\nApi-Version: 1.41\r\n"
    if close:
        head += "Connection: close\r\n"
    if chunked:  # in uneven pieces, as Go's server flushes them
        pieces = [body[i:i + 7] for i in range(0, len(body), 7)]
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + b"".join(
            b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def container(cid: str, name: str) -> dict[str, object]:
    return {"Id": cid, "Name": f"/{name}", "State": {"Status": "running", "Running": True},
            "HostConfig": {"NanoCpus": 2_000_000_000, "Memory": 64 << 20,
                           "RestartPolicy": {"Name": "always"}},
            "Config": {"Image": "tiny:latest"}}


class UnixServer:
    """A unix socket served by a thread per connection (`serve(conn)`); a client that
    hangs up mid-answer ends its thread quietly."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.connections = 0
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
        with contextlib.suppress(OSError), conn:
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


class FakeDaemon(UnixServer):
    """A unix socket answering each request with `answer(n)` (None: say nothing), or
    with `routes[path]` for a path other than the ping."""

    def __init__(self, path: Path, answer: Callable[[int], bytes | None],
                 routes: dict[str, bytes] | None = None) -> None:
        self.answer = answer
        self.routes = routes or {}
        self.paths: list[str] = []
        self.requests = 0
        super().__init__(path)

    def serve(self, conn: socket.socket) -> None:
        data = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
            while b"\r\n\r\n" in data:
                request, _, data = data.partition(b"\r\n\r\n")
                path = request.split(b" ")[1].decode()
                self.paths.append(path)
                self.requests += 1
                answer = (self.routes[path] if path in self.routes
                          else self.answer(self.requests))
                if answer is None:
                    time.sleep(30)  # SIGSTOPped: the socket is open, nothing answers
                    return
                if answer.endswith(HANG_UP):  # say this, then close the connection
                    conn.sendall(answer.removesuffix(HANG_UP))
                    return
                conn.sendall(answer)
                if b"Connection: close" in answer:
                    return


@pytest.fixture()
def sock_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield Path(tmp_path_factory.mktemp("dk"))  # short: a unix socket path is <= 107


def endpoint(daemon: FakeDaemon, timeout: float = 5.0) -> DockerEndpoint:
    found = DockerEndpoint("h", f"unix://{daemon.path}", timeout=timeout,
                           deadline=Deadline("h", "docker", timeout))
    found.open()  # one ping
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
    assert daemon.requests == 52 and daemon.connections == 1  # the open's ping too
    assert started == [] and threading.active_count() == threads
    docker.close()


def test_a_closed_or_refusing_connection_is_made_again_and_errors_are_ours(
        sock_dir: Path) -> None:
    replies = {3: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK",
               5: b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\n\x1b[2Jno"}
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
    assert daemon.connections == 2  # a whole 500 answer leaves the connection usable
    docker.close()
    gone = endpoint(FakeDaemon(sock_dir / "e.sock", lambda _n: OK))
    assert gone._wire is not None
    gone._wire._close_socket()  # the connection drops; the socket file goes
    Path(gone.url.removeprefix("unix://")).unlink()
    with pytest.raises(HostError) as failed:
        gone.probe()
    assert "connection refused" in failed.value.message or "no such file" in \
        failed.value.message


def test_a_hung_daemon_fails_the_probe_within_the_timeout(sock_dir: Path) -> None:
    daemon = FakeDaemon(sock_dir / "d.sock", lambda n: OK if n <= 2 else None)
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
        assert "still waiting" in failed.value.message and daemon.requests == 1
    finally:
        release.set()


def test_listing_reads_summaries_and_inspects_in_the_pings_version(sock_dir: Path) -> None:
    a, b = "a" * 64, "b" * 64
    routes = {
        "/v1.41/containers/json?all=1": reply(200, json.dumps([{"Id": a}, {"Id": b}]).encode(),
                                             chunked=True),
        f"/v1.41/containers/{a}/json": reply(200, json.dumps(container(a, "web")).encode(),
                                            chunked=True),
        # gone between the listing and its inspect: skipped, not an error
        f"/v1.41/containers/{b}/json": reply(404, b'{"message": "No such container"}'),
    }
    daemon = FakeDaemon(sock_dir / "d.sock", lambda _n: OK, routes)
    docker = endpoint(daemon)
    guests = docker.list_guests()
    assert [(g.name, g.vcpus, g.memory_mib, g.autostart, g.image) for g in guests] == [
        ("web", 2.0, 64, True, "tiny:latest")]
    assert docker.lookup(b) is None
    assert daemon.connections == 1 and "/version" not in daemon.paths
    docker.close()


def test_a_newer_daemon_is_asked_in_our_newest_version_and_stats_are_one_shot(
        sock_dir: Path) -> None:
    newer = OK.replace(b"1.41", b"1.47")
    cid = "c" * 64
    stats = {"cpu_stats": {"cpu_usage": {"total_usage": 5}}}
    routes = {f"/v1.45/containers/{cid}/stats?stream=0&one-shot=1":
              reply(200, json.dumps(stats).encode()),
              f"/v1.45/containers/{'d' * 64}/stats?stream=0&one-shot=1":
              reply(409, b'{"message": "not running"}'),
              f"/v1.45/containers/{'e' * 64}/stats?stream=0&one-shot=1":
              reply(500, b'{"message": "\\u001b]0;owned\\u0007 cgroup gone"}')}
    docker = endpoint(FakeDaemon(sock_dir / "d.sock", lambda _n: newer, routes))
    assert docker.stats(cid) == stats
    assert docker.stats("d" * 64) is None  # stopped under us
    with pytest.raises(HostError) as failed:
        docker.stats("e" * 64)
    # The daemon's words are passed on (the UI draws every message inert).
    assert "stats: " in failed.value.message and "cgroup gone" in failed.value.message
    docker.close()


def test_an_old_daemon_gets_plain_stats(sock_dir: Path) -> None:
    older = OK.replace(b"1.41", b"1.40")
    routes = {f"/v1.40/containers/{'c' * 64}/stats?stream=0": reply(200, b"{}")}
    docker = endpoint(FakeDaemon(sock_dir / "d.sock", lambda _n: older, routes))
    assert docker.stats("c" * 64) == {}
    docker.close()


def test_a_connection_the_daemon_closed_while_idle_is_made_again(sock_dir: Path) -> None:
    daemon = FakeDaemon(sock_dir / "d.sock", lambda _n: OK)
    docker = endpoint(daemon)
    assert docker._wire is not None and docker._wire._sock is not None
    # What the daemon (or sshd under a forwarded socket) does to an idle connection:
    # our end sees EOF at its next request, not an error for the user.
    peer_closes = docker._wire._sock
    peer_closes.shutdown(socket.SHUT_RD)
    docker.probe()
    assert daemon.connections == 2
    docker.close()


@pytest.mark.parametrize("answer, words", [
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not HTTP"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunks"),
    (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 20000 + b"\r\n\r\n", "too long"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n[1, ", "closed the connection"),
], ids=["ssh", "length", "chunks", "headers", "short"])
def test_answers_that_are_not_dockers_are_errors_in_our_words(
        sock_dir: Path, answer: bytes, words: str) -> None:
    routes = {"/v1.41/containers/json?all=1": answer + HANG_UP}
    docker = endpoint(FakeDaemon(sock_dir / "d.sock", lambda _n: OK, routes))
    with pytest.raises(HostError) as failed:
        docker.list_guests()
    assert words in failed.value.message
    docker.close()


def test_a_waiting_caller_gives_up_within_its_timeout_too(sock_dir: Path) -> None:
    routes = {f"/v1.41/containers/{'c' * 64}/json": None}  # hangs
    daemon = FakeDaemon(sock_dir / "d.sock", lambda _n: OK)
    daemon.routes = routes  # type: ignore[assignment]
    docker = endpoint(daemon, timeout=0.6)
    errors: list[str] = []

    def look() -> None:
        try:
            docker.lookup("c" * 64)
        except HostError as exc:
            errors.append(exc.message)

    began = time.monotonic()
    first = threading.Thread(target=look)
    first.start()
    time.sleep(0.1)
    look()  # waits for the first's turn, not past its own timeout
    first.join()
    assert time.monotonic() - began < 1.5
    assert len(errors) == 2 and all("may be hung" in e for e in errors)


def test_listing_needs_no_docker_sdk(sock_dir: Path) -> None:
    """`tuivirt list` over a unix socket never imports the SDK (~0.2 s, and requests'
    CPU per call): proven in a fresh interpreter that cannot import it."""
    a = "a" * 64
    routes = {"/v1.41/containers/json?all=1": reply(200, json.dumps([{"Id": a}]).encode()),
              f"/v1.41/containers/{a}/json": reply(200, json.dumps(container(a, "w")).encode())}
    daemon = FakeDaemon(sock_dir / "d.sock", lambda _n: OK, routes)
    blocker = sock_dir / "blocker"
    (blocker / "docker").mkdir(parents=True)
    (blocker / "docker" / "__init__.py").write_text("raise ImportError('no SDK here')\n")
    script = (
        "import sys\n"
        "from tuivirt.backends.docker import DockerEndpoint\n"
        f"e = DockerEndpoint('h', 'unix://{daemon.path}', timeout=5)\n"
        "e.open(); e.probe()\n"
        "print([g.name for g in e.list_guests()], 'docker' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{ROOT}"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['w']", "False"]


class EventDaemon(UnixServer):
    """Answers /_ping, then streams `events` on GET /events, in chunks cut anywhere (two
    events in one chunk, one event over two), then waits or ends the stream."""

    def __init__(self, path: Path, events: list[bytes], *, end: bool) -> None:
        self.events = events
        self.end = end
        self.asked: list[str] = []
        super().__init__(path)

    def serve(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        path = data.split(b" ")[1].decode()
        self.asked.append(path)
        if path == "/_ping":
            conn.sendall(OK)
            time.sleep(30)
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        stream = b"".join(self.events)
        for piece in (stream[:10], stream[10:]):  # cut mid-event
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.05)
        if self.end:
            conn.sendall(b"0\r\n\r\n")
        else:
            time.sleep(30)


def test_events_stream_without_the_sdk_and_end_when_closed(sock_dir: Path) -> None:
    events = [b'{"id": "a1", "status": "start"}\n',
              b'{"Actor": {"ID": "b2"}, "Action": "die\\u001b[2J"}\n']
    daemon = EventDaemon(sock_dir / "d.sock", events, end=False)
    docker = DockerEndpoint("h", f"unix://{daemon.path}", timeout=2,
                            deadline=Deadline("h", "docker", 2))
    docker.open()
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def watch() -> None:
        docker.watch(lambda cid, action: seen.append((cid, action)))
        done.set()

    threading.Thread(target=watch, daemon=True).start()
    end = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < end:
        time.sleep(0.02)
    assert seen == [("a1", "start"), ("b2", "die\x1b[2J")]  # drawn inert by the UI
    assert daemon.asked[-1] == ("/v1.41/events?filters="
                                "%7B%22type%22%3A%20%5B%22container%22%5D%7D")
    docker.close()  # ends the watch at once, quietly
    assert done.wait(2)


def test_an_event_stream_the_daemon_ends_is_an_error_to_the_watcher(sock_dir: Path) -> None:
    daemon = EventDaemon(sock_dir / "d.sock", [b'{"id": "a1", "status": "start"}\n'],
                         end=True)
    docker = DockerEndpoint("h", f"unix://{daemon.path}", timeout=2)
    docker.open()
    seen: list[str] = []
    docker.watch(lambda cid, _action: seen.append(cid))  # returns: the stream ended
    assert seen == ["a1"] and docker.opened  # the session then says "event stream ended"
    docker.close()
