"""A libvirt console stream, read on libvirt's event-loop thread."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import libvirt

from tuivirt.backends.console.buffer import READ_CHUNK, ConsoleBuffer
from tuivirt.backends.console.transport import KeyedTransport, KeyWriter
from tuivirt.backends.libvirt.connection import message
from tuivirt.errors import GuestError


class LibvirtConsole(KeyedTransport):
    """A console stream read on the libvirt event-loop thread (never blocks it)."""

    def __init__(self, host: str, name: str, stream: Any, buffer: ConsoleBuffer,
                 label: str) -> None:
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
        wanted = self._reading | libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP
        if self._want_writable:
            wanted |= libvirt.VIR_STREAM_EVENT_WRITABLE
        return int(wanted)

    def _on_event(self, stream: Any, events: int, _opaque: Any) -> None:
        if events & libvirt.VIR_STREAM_EVENT_READABLE:
            self._read(stream)
        if events & libvirt.VIR_STREAM_EVENT_WRITABLE:
            with self._lock:
                self._want_writable = False
                self._update()
            self._keys.writable()
        if events & (libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP):
            # Drain what is left before saying so (the guest's last words).
            self._read(stream)
            self._finish("the console closed (guest shut down, rebooted or taken "
                         "over)" if events & libvirt.VIR_STREAM_EVENT_HANGUP
                         else "console stream error")

    def _read(self, stream: Any) -> None:
        while not self._closed:
            try:
                data = stream.recv(READ_CHUNK)
            except libvirt.libvirtError as exc:
                self._finish(f"console: {message(exc)}")
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
            self._reading = libvirt.VIR_STREAM_EVENT_READABLE
            self._update()

    def _update(self) -> None:
        # Only when the events wanted change: each update wakes libvirt's event loop,
        # ~0.15 ms of every keystroke when it was made after each send.
        wanted = self._events()
        if wanted == self._watching:
            return
        self._watching = wanted
        with contextlib.suppress(libvirt.libvirtError):
            self.stream.eventUpdateCallback(wanted)

    def _write(self, chunk: bytes) -> int:
        """(The key writer's thread.) As much of chunk as the stream takes now."""
        try:
            sent = self.stream.send(chunk)
        except libvirt.libvirtError as exc:
            # The stream is dead (its daemon went away): it will not say so by itself.
            raise GuestError(self.host, self.name,
                             f"console: {message(exc)}") from None
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
        with contextlib.suppress(libvirt.libvirtError):
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
        with contextlib.suppress(libvirt.libvirtError):
            self.stream.abort()

    def close(self) -> None:
        self._finish("closed")
