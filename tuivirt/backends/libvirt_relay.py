"""libvirtd's socket forwarded over SSH, declining libvirtd's keepalive.

A libvirt client that runs an event loop asks the daemon, before it opens the connection,
whether it supports keepalive. A daemon that says yes then pings the connection whenever
the client was silent for 5 s (libvirtd's keepalive_interval), and the client answers.
Over our SSH tunnel each ping is a round trip through asyncssh and libvirt's event
thread: in a fleet of 100 hosts probed every 12.5 s, two pings per host and period, two
thirds of all the idle traffic and about a third of the idle CPU.

Those pings prove nothing we need: the tunnel's SSH keepalive finds a dead link (and
closes the socket, which libvirt sees as EOF) and our probes find a hung daemon. So this
forward answers that one question itself, "not supported": libvirtd then never pings
this connection and the client never expects it to. (libvirt's own client keepalive is
already off on tunnelled connections: libvirt 9.0's client crashed when it fired during
a call.)

Only the opening of a connection is read, frame by frame: the authentication list, the
feature questions and the CONNECT_OPEN call, which the client sends one at a time, each
after the previous answer. After CONNECT_OPEN, or at anything else (SASL, whose security
layer would wrap the frames; a frame that is not libvirt's remote program), the bytes
held are passed on in order and the forward is a plain pipe from then on.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator
from typing import Any

#: A frame's header (XDR, big-endian): length (of the whole frame), program, version,
#: procedure, type, serial, status.
HEADER = struct.Struct(">IIIiiIi")
FEATURE = struct.Struct(">i")  # the question's argument, and the answer
REMOTE_PROGRAM = 0x20008086
PROC_CONNECT_OPEN = 1
PROC_SUPPORTS_FEATURE = 60
PROC_AUTH_LIST = 66
PROC_AUTH_POLKIT = 70
#: The procedures a connection's opening is made of, besides CONNECT_OPEN (SASL's are not
#: among them: its security layer may wrap every later frame).
OPENING_PROCS = frozenset({PROC_SUPPORTS_FEATURE, PROC_AUTH_LIST, PROC_AUTH_POLKIT})
FEATURE_PROGRAM_KEEPALIVE = 10  # VIR_DRV_FEATURE_PROGRAM_KEEPALIVE
CALL, REPLY = 0, 1
STATUS_OK = 0
#: An opening frame longer than this is not one (the real ones are under 100 bytes).
OPENING_FRAME_MAX = 65536


class Opening:
    """The filter over one connection's opening. Pure: bytes in from either side, bytes
    out to (the daemon, the client); the protocols below move them."""

    def __init__(self) -> None:
        self.piping = False  # past the opening: everything passes untouched
        self.declined = 0  # keepalive questions answered here
        self._from_client = bytearray()  # a frame not yet whole
        self._from_daemon = bytearray()

    def client_sent(self, data: bytes) -> tuple[bytes, bytes]:
        if self.piping:
            return data, b""
        self._from_client += data
        to_daemon, to_client = bytearray(), bytearray()
        for frame in self._frames(self._from_client):
            answer = self._answer(frame)
            if answer is not None:
                to_client += answer
                continue
            to_daemon += frame
            if _procedure(frame) not in OPENING_PROCS:  # CONNECT_OPEN, or not known here
                self.piping = True
        return self._out(to_daemon, to_client)

    def daemon_sent(self, data: bytes) -> tuple[bytes, bytes]:
        if self.piping:
            return b"", data
        self._from_daemon += data
        return self._out(bytearray(), bytearray(b"".join(self._frames(self._from_daemon))))

    def _frames(self, buf: bytearray) -> Iterator[bytes]:
        """The whole frames at buf's start, taken out of it, while this is an opening."""
        while not self.piping:
            try:
                frame = _frame(buf)
            except _NotOpening:
                self.piping = True
                return
            if frame is None:
                return
            del buf[:len(frame)]
            yield frame

    def _answer(self, frame: bytes) -> bytes | None:
        """The reply to the client's keepalive question, or None for any other frame."""
        _len, program, version, proc, kind, serial, _status = HEADER.unpack_from(frame)
        if (proc != PROC_SUPPORTS_FEATURE or kind != CALL or len(frame) != HEADER.size + 4
                or FEATURE.unpack_from(frame, HEADER.size)[0] != FEATURE_PROGRAM_KEEPALIVE
                or self._from_daemon):
            # (A daemon frame half received: the client asked out of turn. Let the
            # daemon answer.)
            return None
        self.declined += 1
        return HEADER.pack(HEADER.size + 4, program, version, proc, REPLY, serial,
                           STATUS_OK) + FEATURE.pack(0)

    def _out(self, to_daemon: bytearray, to_client: bytearray) -> tuple[bytes, bytes]:
        """What goes out; on turning into a pipe, whatever was held goes too, in order."""
        if self.piping:
            to_daemon += self._from_client
            to_client += self._from_daemon
            self._from_client.clear()
            self._from_daemon.clear()
        return bytes(to_daemon), bytes(to_client)


class _NotOpening(Exception):
    """Bytes that are not a connection's opening as this module knows it."""


def _frame(buf: bytearray) -> bytes | None:
    """The first whole frame in buf, or None while it is not whole yet."""
    if len(buf) < 4:
        return None
    length = int.from_bytes(buf[:4], "big")
    if not HEADER.size <= length <= OPENING_FRAME_MAX:
        raise _NotOpening
    if len(buf) >= 8 and int.from_bytes(buf[4:8], "big") != REMOTE_PROGRAM:
        raise _NotOpening
    if len(buf) < length:
        return None
    return bytes(buf[:length])


def _procedure(frame: bytes) -> int:
    return int(HEADER.unpack_from(frame)[3])


class _Daemon:
    """The SSH channel's side (an asyncssh SSHUNIXSession): the daemon's socket."""

    def __init__(self, client: _Client) -> None:
        self.client = client
        self.channel: Any = None

    def connection_made(self, channel: Any) -> None:
        self.channel = channel

    def session_started(self) -> None:
        pass

    def data_received(self, data: bytes, _datatype: Any = None) -> None:
        self.client.from_daemon(data)

    def eof_received(self) -> bool:
        self.client.close()
        return False

    def connection_lost(self, _exc: BaseException | None) -> None:
        self.client.close()

    def pause_writing(self) -> None:  # the link is full: stop reading the client
        self.client.pause_reading()

    def resume_writing(self) -> None:
        self.client.resume_reading()


class _Client(asyncio.Protocol):
    """One libvirt client's connection to the local socket, relayed over one channel."""

    def __init__(self, conn: Any, remote_path: str) -> None:
        self.conn = conn
        self.remote_path = remote_path
        self.transport: asyncio.Transport | None = None
        self.daemon: _Daemon | None = None
        self.opening = Opening()
        self._early = bytearray()  # the client's bytes before the channel opened
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self._task = asyncio.ensure_future(self._open_channel())

    async def _open_channel(self) -> None:
        try:
            _channel, daemon = await self.conn.create_unix_connection(
                lambda: _Daemon(self), self.remote_path)
        except Exception:  # the link is gone or the host refused: the client sees EOF
            self.close()
            return
        if self._closed:
            daemon.channel.close()
            return
        self.daemon = daemon
        if self._early:
            early = bytes(self._early)
            self._early.clear()
            self.data_received(early)

    def data_received(self, data: bytes) -> None:
        if self.daemon is None:
            self._early += data
            return
        self._send(*self.opening.client_sent(data))

    def from_daemon(self, data: bytes) -> None:
        self._send(*self.opening.daemon_sent(data))

    def _send(self, to_daemon: bytes, to_client: bytes) -> None:
        if to_daemon and self.daemon is not None:
            self.daemon.channel.write(to_daemon)
        if to_client and self.transport is not None:
            self.transport.write(to_client)

    def eof_received(self) -> bool:
        self.close()
        return False

    def connection_lost(self, _exc: BaseException | None) -> None:
        self.close()

    def pause_writing(self) -> None:  # the client reads slowly: stop reading the channel
        if self.daemon is not None:
            self.daemon.channel.pause_reading()

    def resume_writing(self) -> None:
        if self.daemon is not None:
            self.daemon.channel.resume_reading()

    def pause_reading(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.transport is not None:
            self.transport.close()
        if self.daemon is not None and self.daemon.channel is not None:
            self.daemon.channel.close()


async def serve(conn: Any, local_path: str, remote_path: str) -> asyncio.AbstractServer:
    """Listen on local_path; each client gets its own channel to remote_path on the SSH
    connection conn (run on the SSH loop). Close the returned server to stop listening."""
    loop = asyncio.get_running_loop()
    return await loop.create_unix_server(lambda: _Client(conn, remote_path), local_path)
