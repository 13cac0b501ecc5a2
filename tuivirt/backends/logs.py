"""Logs: a Docker container's output, a libvirt guest's hypervisor log (no Textual).

A `LogSource` is a blocking byte stream: `read()` returns the next bytes as they come
(b"" at its end), `close()` ends it from any thread (a reader blocked in `read()` then
gets b""). Three kinds:

- a container's logs through the Docker SDK (stdout and stderr, demultiplexed here: the
  SDK yields a TTY container's logs one byte per iteration, ~1 MB/s of Python at best);
- a libvirt guest's hypervisor log (/var/log/libvirt/qemu/NAME.log, or lxc/) read by
  `tail` run on this machine, or on the host over its SSH connection, the path quoted:
  a guest's name never reaches a shell unquoted.

What is made of the bytes lives here too, so the CLI, the pane and the benchmark share
it: `LineSplitter` (bytes -> lines, an endless line cut into pieces), `LogRing` (the
last lines, bounded in lines and in bytes) and `TerminalText` (bytes -> text safe to
write on a terminal).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import shlex
import struct
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tuivirt.errors import GuestError
from tuivirt.text import inert_lines

#: libvirt's system log directories by driver (qemu:///system, lxc:///system).
LOG_DIRS = {"qemu": "/var/log/libvirt/qemu", "lxc": "/var/log/libvirt/lxc"}
READ_SIZE = 65536
#: A line longer than this is cut (a container writing megabytes without a newline must
#: not make one unbounded line in the pane).
MAX_LINE = 16384
_FRAME = struct.Struct(">BxxxL")  # Docker's multiplexed stream: stream id, size


@dataclass(frozen=True, slots=True)
class LogOptions:
    follow: bool = False
    since: float | None = None  # epoch seconds
    timestamps: bool = False
    tail: int | None = None  # the last N lines (None: all)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_since(text: str, now: float | None = None) -> float:
    """`--since`: a duration back from now (`90s`, `10m`, `1h30m`, `2d`), an epoch
    number, or a time (`2026-01-02T03:04:05Z`, `2026-01-02 03:04`: local time without a
    zone). Epoch seconds; ValueError saying what is accepted."""
    now = time.time() if now is None else now
    value = text.strip()
    parts = list(_DURATION.finditer(value))
    if parts and "".join(m.group(0) for m in parts) == value:
        return now - sum(float(m.group(1)) * _UNITS[m.group(2)] for m in parts)
    with contextlib.suppress(ValueError):
        return float(value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {value!r}: not a duration (10m, 1h30m, 2d) or a time "
                         "(2026-01-02T03:04:05Z, 2026-01-02 03:04)") from None
    return when.timestamp()  # a naive time is local, as `docker logs --since` takes it


_STAMP = re.compile(rb"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?")


def line_time(line: bytes) -> float | None:
    """The time a log line starts with (libvirt's `2026-01-02 03:04:05.678+0000: ...`,
    Docker's RFC 3339 stamp), or None."""
    found = _STAMP.match(line)
    if found is None:
        return None
    day, clock, frac, zone = found.groups()
    zone_text = (zone or b"").decode()
    if zone_text and zone_text != "Z" and ":" not in zone_text:
        zone_text = zone_text[:3] + ":" + zone_text[3:]
    try:
        when = datetime.fromisoformat(f"{day.decode()}T{clock.decode()}"
                                      f"{(frac or b'').decode()[:7]}"
                                      f"{zone_text.replace('Z', '+00:00')}")
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # libvirt writes UTC
    return when.timestamp()


class LogSource:
    """A log as a stream of bytes (see the module's docstring)."""

    #: what carries it, for a header ("docker logs", "tail over ssh"...)
    label = ""
    #: every line starts with Docker's timestamp and a space (asked with timestamps)
    stamped = False
    #: why the stream ended, when it broke rather than ended ("" otherwise)
    error = ""

    def read(self) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __iter__(self) -> Iterator[bytes]:
        while True:
            data = self.read()
            if not data:
                return
            yield data


# -- Docker ------------------------------------------------------------------------------
class DockerLogs(LogSource):
    """`docker logs [-f]`: stdout and stderr of a container, in the order written."""

    def __init__(self, api: Any, container_id: str, options: LogOptions, *,
                 host: str, name: str) -> None:
        self.label = "docker logs" + (" -f" if options.follow else "")
        self.stamped = options.timestamps
        self.host, self.name = host, name
        self._closed = False
        try:
            info = api.inspect_container(container_id)
            self._tty = bool((info.get("Config") or {}).get("Tty"))
            self._stream = api.logs(container_id, stream=True, follow=options.follow,
                                    timestamps=options.timestamps,
                                    tail=options.tail if options.tail is not None else "all",
                                    since=options.since)
        except Exception as exc:
            from tuivirt.backends.docker import _message

            raise GuestError(host, name, f"logs: {_message(exc)}") from None
        # The SDK's stream is read a chunk at a time below, not through its generator
        # (which yields a TTY container's output one byte per step).
        response = self._stream._response
        # As the SDK's own stream helpers do: a log that is quiet for a while (or a
        # follow) is no failure, so no read timeout on its socket.
        with contextlib.suppress(Exception):
            api._disable_socket_timeout(api._get_raw_response_socket(response))
        self._chunks = response.raw.stream(READ_SIZE, decode_content=False)
        self._pending = bytearray()

    def read(self) -> bytes:
        while not self._closed:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return b""
            except Exception as exc:  # closed under us, or the daemon went away
                if not self._closed:
                    self.error = f"{type(exc).__name__}: {exc}"
                return b""
            if self._tty:
                return bytes(chunk)
            data = self._demux(chunk)
            if data:
                return data
        return b""

    def _demux(self, chunk: bytes) -> bytes:
        """Docker's frames (8-byte header: stream, size) -> their payloads, joined."""
        buf = self._pending
        buf += chunk
        out = bytearray()
        pos, size = 0, len(buf)
        while size - pos >= 8:
            _stream, length = _FRAME.unpack_from(buf, pos)
            if size - pos - 8 < length:
                break
            out += buf[pos + 8:pos + 8 + length]
            pos += 8 + length
        del buf[:pos]
        return bytes(out)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):
            self._stream.close()


# -- hypervisor logs ---------------------------------------------------------------------
def hypervisor_log_path(kind: str, name: str) -> str:
    """Where libvirt's system daemon writes a guest's log; GuestError when it has none."""
    driver = {"kvm": "qemu", "qemu": "qemu", "lxc": "lxc"}.get(kind)
    if driver is None:
        raise GuestError("", name, f"no hypervisor log known for {kind} guests (libvirt "
                         "keeps one for QEMU/KVM and LXC)")
    if "/" in name or name in ("", ".", ".."):
        raise GuestError("", name, "a guest name that is no file name has no log")
    return f"{LOG_DIRS[driver]}/{name}.log"


def tail_argv(path: str, options: LogOptions) -> list[str]:
    """`tail` for a log file: the last N lines (or all of it), following it when asked
    (-F: across libvirt's log rotation too)."""
    count = "+1" if options.tail is None or options.since is not None else str(options.tail)
    return ["tail", "-n", count, *(["-F"] if options.follow else []), "--", path]


class SinceFilter:
    """`--since` on a hypervisor log: lines before the first one stamped at or after the
    time are dropped (libvirt stamps its own lines, QEMU's output between them is not)."""

    def __init__(self, since: float) -> None:
        self.since = since
        self.passing = False
        self._partial = b""

    def feed(self, data: bytes) -> bytes:
        if self.passing:
            return data
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for index, line in enumerate(lines):
            when = line_time(line)
            if when is not None and when >= self.since:
                self.passing = True
                rest = b"\n".join(lines[index:]) + b"\n" + self._partial
                self._partial = b""
                return rest
        if len(self._partial) > MAX_LINE:
            self._partial = b""
        return b""


class TailProcess(LogSource):
    """`tail` on this machine."""

    def __init__(self, path: str, options: LogOptions) -> None:
        self.label = f"{path}" + (" (following)" if options.follow else "")
        self._proc = subprocess.Popen(tail_argv(path, options), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self._proc.stdout is not None
        self._fd = self._proc.stdout.fileno()

    def read(self) -> bytes:
        try:
            return os.read(self._fd, READ_SIZE)
        except OSError:
            return b""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._proc.terminate()
        with contextlib.suppress(Exception):
            self._proc.wait(2)
        if self._proc.stdout is not None:
            with contextlib.suppress(OSError):
                self._proc.stdout.close()


class SSHTail(LogSource):
    """`tail` run on a remote host over its SSH connection (no PTY: bytes as written)."""

    def __init__(self, tunnel: Any, path: str, options: LogOptions) -> None:
        self.label = f"{path} over ssh" + (" (following)" if options.follow else "")
        command = " ".join(shlex.quote(arg) for arg in tail_argv(path, options))
        self._tunnel = tunnel
        self._proc = tunnel.open_process(command)
        self._lock = threading.Lock()
        self._closed = False

    def read(self) -> bytes:
        from tuivirt.backends.ssh import run_sync

        if self._closed:
            return b""
        try:
            data = run_sync(self._proc.stdout.read(READ_SIZE), None)
        except Exception:
            return b""
        return bytes(data or b"")

    def close(self) -> None:
        from tuivirt.backends.ssh import ssh_loop

        with self._lock:
            if self._closed:
                return
            self._closed = True
        proc = self._proc

        def shut() -> None:
            with contextlib.suppress(Exception):
                proc.terminate()  # a signal request: remote tail -F ends now
            with contextlib.suppress(Exception):
                proc.close()

        with contextlib.suppress(RuntimeError):
            ssh_loop().call_soon_threadsafe(shut)


def open_hypervisor_log(host: str, kind: str, name: str, options: LogOptions, *,
                        tunnel: Any = None, timeout: float = 10.0) -> LogSource:
    """A libvirt guest's log, read locally (tunnel None) or on the host over `tunnel`."""
    try:
        path = hypervisor_log_path(kind, name)
    except GuestError as exc:
        raise GuestError(host, name, exc.message) from None
    missing = (f"no hypervisor log: {path} does not exist on {host} (libvirt writes it "
               "when the guest first starts)")
    if tunnel is None:
        if not os.path.exists(path):
            raise GuestError(host, name, missing)
        if not os.access(path, os.R_OK):
            raise GuestError(host, name, f"{path}: permission denied (libvirt's logs "
                             "are readable by root)")
        return TailProcess(path, options)
    quoted = shlex.quote(path)
    _status, found, _err = tunnel.run(f"if test -r {quoted}; then echo ok; elif test -e "
                                      f"{quoted}; then echo unreadable; fi", timeout)
    if found.strip() == "ok":
        return SSHTail(tunnel, path, options)
    if found.strip() == "unreadable":
        raise GuestError(host, name, f"{path} on {host}: permission denied (libvirt's "
                         "logs are readable by root)")
    raise GuestError(host, name, missing)


# -- what is made of the bytes -------------------------------------------------------------
class LineSplitter:
    """Bytes -> complete lines (str, undecodable bytes kept by surrogateescape, so a
    line encodes back to the same bytes); `\\r\\n` and `\\n` end a line; a line longer
    than MAX_LINE is cut there."""

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[str]:
        data = self._partial + data if self._partial else data
        lines = data.split(b"\n")
        last = lines.pop()
        out = []
        for raw in lines:
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) > MAX_LINE:
                out += self._cut(raw)
            else:
                out.append(raw.decode("utf-8", "surrogateescape"))
        while len(last) > MAX_LINE:
            out.append(last[:MAX_LINE].decode("utf-8", "surrogateescape"))
            last = last[MAX_LINE:]
        self._partial = last
        return out

    @staticmethod
    def _cut(raw: bytes) -> list[str]:
        return [raw[i:i + MAX_LINE].decode("utf-8", "surrogateescape")
                for i in range(0, len(raw), MAX_LINE)]

    def flush(self) -> list[str]:
        """The last line, when the stream ended without a newline."""
        rest, self._partial = self._partial, b""
        return [rest.decode("utf-8", "surrogateescape")] if rest else []


class LogRing:
    """The last lines of a log: at most `max_lines`, and at most `max_bytes` of text
    (a flood of long lines must not hold 10 000 x 16 KiB); older ones are dropped and
    counted."""

    def __init__(self, max_lines: int = 10_000, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.lines: deque[str] = deque()
        self.size = 0  # characters held (about bytes: what bounds memory)
        self.dropped = 0  # lines pushed out since the start
        self.total = 0  # lines ever added

    def extend(self, lines: list[str]) -> None:
        if len(lines) > self.max_lines:  # only the last max_lines can stay anyway
            skipped = len(lines) - self.max_lines
            self.dropped += skipped
            self.total += skipped
            lines = lines[skipped:]
        store = self.lines
        store.extend(lines)
        self.total += len(lines)
        self.size += sum(map(len, lines))
        while len(store) > self.max_lines or (self.size > self.max_bytes and len(store) > 1):
            self.size -= len(store.popleft())
            self.dropped += 1

    def __len__(self) -> int:
        return len(self.lines)

    def clear(self) -> None:
        self.lines.clear()
        self.size = 0


class TerminalText:
    """A log's bytes as text safe on a terminal: decoded incrementally (a character cut
    between two reads stays one), every control, escape and bidi character shown
    escaped (`\\x1b`), line breaks and TABs kept."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._cr = False  # a read ended on \r: it may be half of \r\n

    def feed(self, data: bytes, final: bool = False) -> str:
        text = self._decoder.decode(data, final)
        if self._cr:
            text = "\r" + text
            self._cr = False
        if text.endswith("\r") and not final:
            text, self._cr = text[:-1], True
        return inert_lines(text)


def drop_stamp(line: str) -> str:
    """A Docker-stamped line without its timestamp."""
    head, sep, rest = line.partition(" ")
    return rest if sep and head[:4].isdigit() else line

