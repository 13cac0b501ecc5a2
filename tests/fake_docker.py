"""A stand-in Docker daemon on a unix socket, for what the lab cannot show: a pull (the
lab has no registry) that streams a few events and then stalls, as a slow registry does.

It answers /_ping, /version, an empty container list, "no such image" for every image, and a
pull: the first events of `events`, then silence until the client hangs up (recorded).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
from typing import Any


class FakeDocker:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.dir = tempfile.mkdtemp(prefix="tvd", dir="/tmp")  # sun_path has 108 bytes
        self.path = f"{self.dir}/docker.sock"
        self.url = f"unix://{self.path}"
        self.events = events
        self.requests: list[str] = []  # "METHOD /path?query" in the order they came
        self.hung_up = threading.Event()  # the client left the pull
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(self.path)
        self.listener.listen(8)
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self.listener.close()
        os.unlink(self.path)
        os.rmdir(self.dir)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            pending = b""
            while True:  # keep-alive: one request after another
                while b"\r\n\r\n" not in pending:
                    data = conn.recv(65536)
                    if not data:
                        return
                    pending += data
                head, _, pending = pending.partition(b"\r\n\r\n")
                method, target = head.split(b"\r\n", 1)[0].decode().split(" ")[:2]
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                while len(pending) < length:
                    pending += conn.recv(65536)
                pending = pending[length:]
                path = target.split("/", 2)[-1] if target.startswith("/v1.") else target
                self.requests.append(f"{method} /{path.lstrip('/')}")
                if method == "POST" and "images/create" in target:
                    self._pull(conn)
                    return
                if target == "/_ping":
                    self._reply(conn, 200, "OK")
                elif target.endswith("/version"):
                    self._reply(conn, 200, {"ApiVersion": "1.43", "Version": "24.0.0"})
                elif "/containers/json" in target:
                    self._reply(conn, 200, [])
                elif "/images/" in target and target.endswith("/json"):
                    self._reply(conn, 404, {"message": "No such image"})
                else:
                    self._reply(conn, 404, {"message": f"fake: no {method} {target}"})

    @staticmethod
    def _reply(conn: socket.socket, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                     "Api-Version: 1.43\r\n"
                     f"Content-Length: {len(data)}\r\n\r\n".encode() + data)

    def _pull(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        for event in self.events:
            chunk = json.dumps(event).encode() + b"\r\n"
            conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.settimeout(60)
        try:
            if conn.recv(1) == b"":
                self.hung_up.set()
        except OSError:
            self.hung_up.set()
