"""Keys to a console go through their own thread: a stuck write never holds the typist."""

from __future__ import annotations

import threading
import time

from tuivirt.backends.console.transport import KeyWriter
from tuivirt.errors import GuestError


def test_a_stuck_write_never_blocks_put_and_keeps_the_order() -> None:
    release = threading.Event()
    written = bytearray()

    def write(chunk: bytes) -> int:
        release.wait(10)  # the daemon hangs until released
        written.extend(chunk)
        return len(chunk)

    keys = KeyWriter("t", write, lambda _r: None)
    started = time.monotonic()
    for ch in b"echo hello\r":
        assert keys.put(bytes([ch]))
    assert time.monotonic() - started < 0.1  # the typist never waited
    release.set()
    end = time.monotonic() + 5
    while bytes(written) != b"echo hello\r" and time.monotonic() < end:
        time.sleep(0.01)
    assert bytes(written) == b"echo hello\r"
    keys.close()


def test_past_the_cap_keys_are_refused_not_queued_for_ever() -> None:
    keys = KeyWriter("t", lambda _c: threading.Event().wait(10) and 0, lambda _r: None, cap=8)
    assert keys.put(b"12345678")
    time.sleep(0.05)  # the writer holds a copy: what waits is still counted
    assert not keys.put(b"9")
    keys.close()


def test_a_full_stream_waits_for_writable_then_goes_on() -> None:
    calls: list[bytes] = []
    full = [True]

    def write(chunk: bytes) -> int:
        calls.append(chunk)
        if full[0]:
            return 0  # would block
        return len(chunk)

    keys = KeyWriter("t", write, lambda _r: None)
    keys.put(b"abc")
    time.sleep(0.05)
    assert calls == [b"abc"]  # tried once, then waits for writable()
    full[0] = False
    keys.writable()
    end = time.monotonic() + 2
    while len(calls) < 2 and time.monotonic() < end:
        time.sleep(0.01)
    assert calls == [b"abc", b"abc"]
    keys.close()


def test_a_failed_write_is_reported_once() -> None:
    reasons: list[str] = []

    def write(_chunk: bytes) -> int:
        raise GuestError("h", "g", "console: client socket is closed")

    keys = KeyWriter("t", write, reasons.append)
    keys.put(b"x")
    end = time.monotonic() + 2
    while not reasons and time.monotonic() < end:
        time.sleep(0.01)
    assert reasons == ["console: client socket is closed"]
    assert not keys.put(b"y")
