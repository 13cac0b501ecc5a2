"""The console's byte queue: ordered, lossless, bounded, and it says when to pause."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from tuivirt.backends.console.buffer import ConsoleBuffer


@given(writes=st.lists(st.binary(min_size=1, max_size=5000), max_size=40),
       takes=st.lists(st.integers(1, 7000), min_size=1, max_size=40))
def test_bytes_come_out_in_order_and_complete(writes: list[bytes], takes: list[int]) -> None:
    buffer = ConsoleBuffer(lambda: None, cap=1 << 30)
    out = bytearray()
    for i, data in enumerate(writes):
        buffer.put(data)
        out += buffer.take(takes[i % len(takes)])
    while buffer.size:
        out += buffer.take(4096)
    assert bytes(out) == b"".join(writes)
    assert buffer.received == len(out)


def test_full_buffer_asks_the_producer_to_pause_and_resumes_it() -> None:
    woken: list[int] = []
    resumed: list[int] = []
    buffer = ConsoleBuffer(lambda: woken.append(1), cap=100)
    buffer.on_space = lambda: resumed.append(1)
    assert buffer.put(b"x" * 60) is True
    assert woken == [1]  # empty -> data: the UI is told once
    assert buffer.put(b"y" * 60) is False  # over the cap: pause reading
    assert woken == [1]
    buffer.take(10)
    assert resumed == []  # still over the cap
    buffer.take(50)
    assert resumed == [1]  # below: reading may resume
    assert buffer.take(1000) == b"y" * 60


def test_wait_space_returns_when_drained_or_closed() -> None:
    buffer = ConsoleBuffer(lambda: None, cap=10)
    buffer.put(b"z" * 20)
    assert buffer.wait_space(timeout=0.01) is False
    threading.Timer(0.05, lambda: buffer.take(15)).start()
    assert buffer.wait_space(timeout=5) is True
    buffer.put(b"z" * 20)
    threading.Timer(0.05, lambda: buffer.close("guest gone")).start()
    assert buffer.wait_space(timeout=5) is True
    assert buffer.closed_reason == "guest gone"
