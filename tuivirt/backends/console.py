"""Console transports: a guest's console as a byte stream, whatever carries it.

- libvirt: virDomainOpenConsole on a non-blocking stream, read on the libvirt event-loop
  thread (QEMU/KVM serial consoles, LXC consoles; locally or through the SSH tunnel);
- Docker: attach to the container's TTY, or exec a shell in a new TTY when it has none;
- SSH: `virsh console` run on the host in a PTY, for hosts whose libvirt socket cannot be
  reached.

Every transport writes into a ConsoleBuffer, a bounded byte queue: when the UI falls
behind (a burst of several MB), the transport stops reading and the guest's own flow
control holds the rest, so memory stays bounded and nothing is dropped.
"""

from __future__ import annotations

import contextlib
import shlex
import socket
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

# ConsoleBusy lives with the other errors; re-exported for the console pane's import.
from tuivirt.errors import ConsoleBusy as ConsoleBusy
from tuivirt.errors import GuestError

READ_CHUNK = 65536
BUFFER_CAP = 1 << 20  # bytes waiting for the terminal emulator before reading pauses
KEYS_CAP = 64 * 1024  # bytes typed (or pasted) that a console has not taken yet


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


# -- libvirt --------------------------------------------------------------------------------
class LibvirtConsole(KeyedTransport):
    """A console stream read on the libvirt event-loop thread (never blocks it)."""

    def __init__(self, host: str, name: str, stream: Any, buffer: ConsoleBuffer,
                 label: str) -> None:
        import libvirt

        self._libvirt = libvirt
        self.host = host
        self.name = name
        self.stream = stream
        self.buffer = buffer
        self.label = label
        self._lock = threading.Lock()
        self._closed = False
        self._reading = libvirt.VIR_STREAM_EVENT_READABLE
        self._want_writable = False  # the writer found the stream full: wake it when not
        self._keys = KeyWriter(name, self._write, self._finish)
        buffer.on_space = self._resume
        self._watching = self._events()
        stream.eventAddCallback(self._watching, self._on_event, None)

    def _events(self) -> int:
        lv = self._libvirt
        wanted = self._reading | lv.VIR_STREAM_EVENT_ERROR | lv.VIR_STREAM_EVENT_HANGUP
        if self._want_writable:
            wanted |= lv.VIR_STREAM_EVENT_WRITABLE
        return int(wanted)

    def _on_event(self, stream: Any, events: int, _opaque: Any) -> None:
        lv = self._libvirt
        if events & lv.VIR_STREAM_EVENT_READABLE:
            self._read(stream)
        if events & lv.VIR_STREAM_EVENT_WRITABLE:
            with self._lock:
                self._want_writable = False
                self._update()
            self._keys.writable()
        if events & (lv.VIR_STREAM_EVENT_ERROR | lv.VIR_STREAM_EVENT_HANGUP):
            # Drain what is left before saying so (the guest's last words).
            self._read(stream)
            self._finish("the console closed (guest shut down, rebooted or taken "
                         "over)" if events & lv.VIR_STREAM_EVENT_HANGUP
                         else "console stream error")

    def _read(self, stream: Any) -> None:
        while not self._closed:
            try:
                data = stream.recv(READ_CHUNK)
            except self._libvirt.libvirtError as exc:
                self._finish(f"console: {exc.get_error_message() or exc}")
                return
            if data == -2:  # would block: wait for the next READABLE
                return
            if not data:  # EOF
                self._finish("the console closed (guest shut down or rebooted)")
                return
            if not self.buffer.put(data):
                # The terminal is behind: stop reading until it catches up. The UI may
                # have drained it meanwhile (and found us still reading): check again.
                with self._lock:
                    self._reading = 0
                    self._update()
                if self.buffer.size < self.buffer.cap:
                    self._resume()
                return

    def _resume(self) -> None:
        with self._lock:
            if self._closed or self._reading:
                return
            self._reading = self._libvirt.VIR_STREAM_EVENT_READABLE
            self._update()

    def _update(self) -> None:
        # Only when the events wanted change: each update wakes libvirt's event loop,
        # ~0.15 ms of every keystroke when it was made after each send.
        wanted = self._events()
        if wanted == self._watching:
            return
        self._watching = wanted
        with contextlib.suppress(self._libvirt.libvirtError):
            self.stream.eventUpdateCallback(wanted)

    def _write(self, chunk: bytes) -> int:
        """(The key writer's thread.) As much of chunk as the stream takes now."""
        try:
            sent = self.stream.send(chunk)
        except self._libvirt.libvirtError as exc:
            # The stream is dead (its daemon went away): it will not say so by itself.
            raise GuestError(self.host, self.name,
                             f"console: {exc.get_error_message() or exc}") from None
        if sent == -2:  # full: the event loop says when it takes more
            with self._lock:
                self._want_writable = True
                self._update()
            return 0
        return int(sent)

    def _finish(self, reason: str) -> None:
        """Returns at once, on any thread: the stream is aborted in the background."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._keys.close()
        # Local to this process (no call to the daemon): no more events for this stream.
        with contextlib.suppress(self._libvirt.libvirtError):
            self.stream.eventRemoveCallback()
        self.buffer.close(reason)
        # virStreamAbort waits for the daemon's answer: 40 s and more on the UI thread
        # when a host's libvirtd hung (for ever over our SSH tunnel, which has no libvirt
        # keepalive), and on libvirt's event-loop thread it would stall every other
        # console and event. A daemon thread of its own: it ends when the daemon answers
        # or the connection closes, and never holds the process's exit.
        threading.Thread(target=self._abort, name=f"console-abort-{self.name}",
                         daemon=True).start()

    def _abort(self) -> None:
        with contextlib.suppress(self._libvirt.libvirtError):
            self.stream.abort()

    def close(self) -> None:
        self._finish("closed")


# -- Docker -----------------------------------------------------------------------------------
class DockerConsole(KeyedTransport):
    """The container's TTY (attach), or a shell exec'd in a new TTY when it has none."""

    def __init__(self, host: str, name: str, api: Any, container_id: str,
                 buffer: ConsoleBuffer, cols: int, rows: int) -> None:
        self.host = host
        self.name = name
        self.api = api
        self.container = container_id
        self.buffer = buffer
        self.exec_id: str | None = None
        try:
            info = api.inspect_container(container_id)
            if not info.get("State", {}).get("Running"):
                raise GuestError(host, name, "the container is not running")
            if info.get("Config", {}).get("Tty") and info.get("Config", {}).get("OpenStdin"):
                self.label = "docker attach (the container's TTY)"
                sock = api.attach_socket(container_id, params={
                    "stdin": 1, "stdout": 1, "stderr": 1, "stream": 1, "logs": 0})
            else:
                shell = "/bin/sh"
                self.label = f"docker exec {shell} (the container has no TTY to attach)"
                self.exec_id = api.exec_create(container_id, [shell], stdin=True, tty=True,
                                               environment={"TERM": "xterm-256color"})["Id"]
                sock = api.exec_start(self.exec_id, tty=True, socket=True)
        except GuestError:
            raise
        except Exception as exc:
            raise GuestError(host, name, f"console: {exc}") from None
        self.sock = getattr(sock, "_sock", sock)  # the raw socket under docker's wrapper
        self._closed = False
        self._keys = KeyWriter(name, self._write, self._failed)
        self.resize(cols, rows)
        self._thread = threading.Thread(target=self._pump, name=f"console-{name}",
                                        daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        reason = "the container's console closed (it stopped, or its shell exited)"
        try:
            while not self._closed:
                data = self.sock.recv(READ_CHUNK)
                if not data:
                    break
                if not self.buffer.put(data):  # full: let the terminal catch up
                    while not self._closed and not self.buffer.wait_space():
                        pass
        except OSError as exc:
            if not self._closed:
                reason = f"console: {exc.strerror or exc}"
        self.buffer.close("closed" if self._closed else reason)

    def _write(self, chunk: bytes) -> int:
        """(The key writer's thread.) sendall: a full socket blocks this thread only."""
        try:
            self.sock.sendall(chunk)
        except OSError as exc:
            raise GuestError(self.host, self.name, f"console: {exc.strerror or exc}") \
                from None
        return len(chunk)

    def _failed(self, reason: str) -> None:
        if not self._closed:
            self.close()
            self.buffer.close(reason)


    def resize(self, cols: int, rows: int) -> None:
        with contextlib.suppress(Exception):
            if self.exec_id is not None:
                self.api.exec_resize(self.exec_id, height=rows, width=cols)
            else:
                self.api.resize(self.container, height=rows, width=cols)

    def close(self) -> None:
        self._closed = True
        self._keys.close()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


# -- SSH --------------------------------------------------------------------------------------
class SSHConsole(Transport):
    """`virsh console` on the host, in a PTY over the host's SSH connection."""

    def __init__(self, host: str, name: str, tunnel: Any, uri: str, buffer: ConsoleBuffer,
                 cols: int, rows: int, *, force: bool = False) -> None:
        from tuivirt.backends.ssh import ssh_loop

        self.host = host
        self.name = name
        self.buffer = buffer
        self._loop = ssh_loop()
        command = (f"virsh -c {shlex.quote(uri)} console {'--force ' if force else ''}"
                   f"-- {shlex.quote(name)}")
        self.label = f"ssh: {command}"
        self._closed = False

        self.process = tunnel.open_pty(command, cols, rows)
        self._loop.call_soon_threadsafe(self._start_reader)

    def _start_reader(self) -> None:
        import asyncio

        self._reader = asyncio.ensure_future(self._read(), loop=self._loop)

    async def _read(self) -> None:
        import asyncio

        reason = "the console closed"
        try:
            while True:
                data = await self.process.stdout.read(READ_CHUNK)
                if not data:
                    break
                if not self.buffer.put(bytes(data)):  # full: let the terminal catch up
                    while (self.buffer.size >= self.buffer.cap and not self._closed
                           and self.buffer.closed_reason is None):
                        await asyncio.sleep(0.01)  # not a blocking wait: the loop is shared
        except Exception as exc:
            if not self._closed:
                reason = f"ssh console: {exc}"
        status = self.process.exit_status
        if status not in (None, 0) and not self._closed:
            reason = f"virsh console exited with status {status}"
        self.buffer.close("closed" if self._closed else reason)

    def send(self, data: bytes) -> None:
        if self._closed:
            raise GuestError(self.host, self.name, "the console is closed")
        self._loop.call_soon_threadsafe(self.process.stdin.write, data)

    def resize(self, cols: int, rows: int) -> None:
        with contextlib.suppress(Exception):
            self._loop.call_soon_threadsafe(self.process.change_terminal_size, cols, rows)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):
            self._loop.call_soon_threadsafe(self.process.close)
