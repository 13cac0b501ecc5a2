"""What is made of a log's bytes: lines, the ring's bounds, text safe on a terminal,
--since, and the stats' sums (no daemon)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tuivirt.backends.logs import (
    MAX_LINE,
    LineSplitter,
    LogOptions,
    LogRing,
    SinceFilter,
    TerminalText,
    drop_stamp,
    hypervisor_log_path,
    line_time,
    parse_since,
    tail_argv,
)
from tuivirt.errors import GuestError
from tuivirt.session.logs import _memory_used


def test_since_takes_durations_epochs_and_times() -> None:
    assert parse_since("90s", now=1000.0) == 910.0
    assert parse_since("1h30m", now=10_000.0) == 10_000.0 - 5400
    assert parse_since("2d", now=200_000.0) == 200_000.0 - 172_800
    assert parse_since("1700000000") == 1_700_000_000.0
    assert parse_since("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5,
                                                            tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match="not a duration"):
        parse_since("yesterday")


def test_lines_split_across_reads_and_cut_when_endless() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"one\r\ntw") == ["one"]
    assert splitter.feed(b"o\n\xff\n") == ["two", "\udcff"]  # the byte kept, to save back
    assert splitter.feed(b"x" * (MAX_LINE * 2 + 5)) == ["x" * MAX_LINE] * 2
    assert splitter.flush() == ["x" * 5]


def test_the_ring_is_bounded_in_lines_and_in_bytes() -> None:
    ring = LogRing(max_lines=100, max_bytes=1000)
    ring.extend([f"{i}" for i in range(250)])
    assert len(ring) == 100 and ring.lines[0] == "150" and ring.dropped == 150
    ring.extend(["y" * 400] * 5)
    assert ring.size <= 1000 and list(ring.lines)[-2:] == ["y" * 400] * 2
    assert ring.total == 255


def test_terminal_text_is_inert_even_when_a_read_cuts_a_character() -> None:
    text = TerminalText()
    evil = "a\x1b]52;c;aGk=\x07\u202e€\r\n".encode()
    out = text.feed(evil[:-5]) + text.feed(evil[-5:]) + text.feed(b"", final=True)
    assert out == "a\\x1b]52;c;aGk=\\x07\\u202e€\n"


def test_since_on_a_hypervisor_log_starts_at_the_first_line_stamped_after() -> None:
    since = datetime(2026, 12, 1, 18, 0, tzinfo=UTC).timestamp()
    keep = SinceFilter(since)
    assert keep.feed(b"2026-12-01 17:59:59.000+0000: old\nqemu says\n20") == b""
    assert keep.feed(b"26-12-01 18:00:01.500+0000: new\nqemu again\n") == \
        b"2026-12-01 18:00:01.500+0000: new\nqemu again\n"
    assert keep.feed(b"anything\n") == b"anything\n"
    assert line_time(b"2026-12-01T18:40:21.064185Z qemu-system") is not None


def test_a_hypervisor_log_path_is_a_file_name_and_tail_gets_it_after_dashes() -> None:
    assert hypervisor_log_path("kvm", "web") == "/var/log/libvirt/qemu/web.log"
    assert hypervisor_log_path("lxc", "ct") == "/var/log/libvirt/lxc/ct.log"
    for bad in ("..", "a/b"):
        with pytest.raises(GuestError):
            hypervisor_log_path("qemu", bad)
    assert tail_argv("/p/-x.log", LogOptions(follow=True, tail=5)) == \
        ["tail", "-n", "5", "-F", "--", "/p/-x.log"]


def test_timestamps_are_dropped_only_when_there_is_one() -> None:
    assert drop_stamp("2026-12-01T10:00:00.1Z hello") == "hello"
    assert drop_stamp("hello world") == "hello world"


def test_container_memory_is_counted_as_docker_stats_does() -> None:
    mib = 1024 * 1024
    assert _memory_used({"usage": 50 * mib, "stats": {"total_inactive_file": 8 * mib}}) == 42
    assert _memory_used({"usage": 50 * mib, "stats": {"inactive_file": 10 * mib}}) == 40
    assert _memory_used({}) is None
