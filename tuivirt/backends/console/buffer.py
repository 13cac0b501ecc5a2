"""The bytes of a console on their way from its transport's thread to the UI thread."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

READ_CHUNK = 65536
BUFFER_CAP = 1 << 20  # bytes waiting for the terminal emulator before reading pauses


class ConsoleBuffer:
    """Bytes from a transport thread to the UI thread; bounded, ordered, never lossy.

    `wake` is called (from the producing thread) when data arrives in an empty buffer;
    `closed(reason)` once, when the transport ends. Producers that can block use
    `wait_space`; the libvirt loop cannot, so it registers `on_space` to resume reading.
    """

    def __init__(self, wake: Callable[[], None], cap: int = BUFFER_CAP) -> None:
        self._wake = wake
        self.cap = cap
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # bytes of the first chunk already taken
        self._size = 0
        self._lock = threading.Condition()
        self.closed_reason: str | None = None
        self.on_space: Callable[[], None] | None = None
        self.received = 0  # bytes in total, for throughput figures and checks

    @property
    def size(self) -> int:
        return self._size

    def put(self, data: bytes) -> bool:
        """Queue data; False when the buffer is full (the producer should pause)."""
        if not data:
            return True
        with self._lock:
            was_empty = self._size == 0
            self._chunks.append(data)
            self._size += len(data)
            self.received += len(data)
            full = self._size >= self.cap
        if was_empty:
            self._wake()
        return not full

    def wait_space(self, timeout: float = 1.0) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._size < self.cap
                                       or self.closed_reason is not None, timeout)

    def take(self, limit: int) -> bytes:
        """Up to `limit` bytes, oldest first (the UI thread).

        The first chunk is read from an offset, not re-sliced: taking 2 KB at a time from
        a 64 KB read copied the rest each time (quadratic, and the churn of large
        allocations grew the process by hundreds of MB over a 20 MB burst).
        """
        out: list[bytes] = []
        got = 0
        with self._lock:
            while self._chunks and got < limit:
                chunk = self._chunks[0]
                end = min(len(chunk), self._offset + limit - got)
                out.append(chunk[self._offset:end])
                got += end - self._offset
                if end == len(chunk):
                    self._chunks.popleft()
                    self._offset = 0
                else:
                    self._offset = end
            before = self._size
            self._size -= got
            resumed = before >= self.cap > self._size
            self._lock.notify_all()
        if resumed and self.on_space is not None:
            self.on_space()
        return b"".join(out)

    def close(self, reason: str) -> None:
        with self._lock:
            if self.closed_reason is not None:
                return
            self.closed_reason = reason
            self._lock.notify_all()
        self._wake()
