"""What every console transport offers, and the thread its keys are written on."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tuivirt.backends.console.buffer import READ_CHUNK, ConsoleBuffer
from tuivirt.errors import GuestError

KEYS_CAP = 64 * 1024  # bytes typed (or pasted) that a console has not taken yet


class Transport:
    """One open console. `label` says what carries it (shown in the pane)."""

    label = "console"

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def resize(self, cols: int, rows: int) -> None:
        """Tell the far end the pane's size, where the transport can."""

    def close(self) -> None:
        raise NotImplementedError

    def end(self, reason: str) -> None:
        """Close it for a reason of the host's (endpoint down, host lost): the pane shows
        the reason instead of "closed". Returns at once."""
        buffer: ConsoleBuffer | None = getattr(self, "buffer", None)
        if buffer is not None:
            buffer.close(reason)
        self.close()


class KeyWriter:
    """Keys on their way to a console, written on a thread of their own.

    Writing to a console can block: libvirt's client makes a stream's send wait while
    another call on the same connection waits for a hung daemon (typing into a console
    of a SIGSTOPped libvirtd froze the UI for seconds), and a socket blocks once its
    buffer is full. So the UI and keyboard threads only queue; `write(chunk)` runs here
    and returns how much it took (0: would block; call `writable()` when it may take
    more). Bounded: past `cap` bytes waiting, `put` refuses and the caller says so.
    """

    def __init__(self, name: str, write: Callable[[bytes], int],
                 on_error: Callable[[str], None], cap: int = KEYS_CAP) -> None:
        self._write = write
        self._on_error = on_error
        self.cap = cap
        self._cond = threading.Condition()
        self._pending = bytearray()
        self._writable = True
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"console-keys-{name}",
                                        daemon=True)
        self._thread.start()

    def put(self, data: bytes) -> bool:
        with self._cond:
            if self._closed or len(self._pending) + len(data) > self.cap:
                return False
            self._pending += data
            self._cond.notify()
            return True

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def writable(self) -> None:
        with self._cond:
            self._writable = True
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not (self._pending and self._writable):
                    self._cond.wait()
                if self._closed:
                    return
                chunk = bytes(self._pending[:READ_CHUNK])
            try:
                sent = self._write(chunk)
            except GuestError as exc:
                self.close()
                self._on_error(exc.message)
                return
            with self._cond:
                if sent > 0:
                    del self._pending[:sent]
                else:
                    self._writable = False


class KeyedTransport(Transport):
    """A transport whose keys go through a KeyWriter (`_keys`): send never blocks."""

    host: str
    name: str
    _keys: KeyWriter
    _closed: bool

    def send(self, data: bytes) -> None:
        """Queue keys for the guest; never waits for its daemon."""
        if self._closed:
            raise GuestError(self.host, self.name, "the console is closed")
        if not self._keys.put(data):
            raise GuestError(self.host, self.name, f"the console has not taken the last "
                             f"{self._keys.waiting} bytes typed: its host may not be "
                             "answering; these keys were not sent")
