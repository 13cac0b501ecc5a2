"""The log pane (`l`), hermetic: the fixed table, a fake log source standing in for
`docker logs -f` (the pane's own reading, batching and drawing code runs as it is)."""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tests.ui.pilot import Notes, feed, fixed_app, until
from tuivirt.backends.logs import LogOptions, LogSource
from tuivirt.model import Guest
from tuivirt.session.host import HostSession
from tuivirt.ui.logs.pane import LogPane

STAMP = "2026-12-01T10:00:00.000000000Z"


class FakeLog(LogSource):
    """Bytes pushed by the test, read by the pane's thread as a daemon's would be."""

    label = "docker logs -f (fake)"
    stamped = True

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes] = queue.Queue()
        self.closed = False
        self.options: LogOptions | None = None

    def push(self, data: bytes) -> None:
        self.chunks.put(data)

    def read(self) -> bytes:
        return self.chunks.get()

    def close(self) -> None:
        self.closed = True
        self.chunks.put(b"")


@pytest.fixture()
def fake_log(monkeypatch: pytest.MonkeyPatch) -> FakeLog:
    log = FakeLog()

    def open_logs(self: HostSession, guest: Guest, options: LogOptions) -> LogSource:
        log.options = options
        return log

    monkeypatch.setattr(HostSession, "open_logs", open_logs)
    return log


def shown(pane: LogPane) -> list[str]:
    """The pane's rows as drawn on screen."""
    view = pane.view
    return ["".join(s.text for s in view.render_line(y)).rstrip()
            for y in range(view.size.height)]


def lines(first: int, count: int, prefix: str = "line") -> bytes:
    return b"".join(f"{STAMP} {prefix} {i}\n".encode() for i in range(first, first + count))


def wide(first: int, count: int) -> bytes:
    """Lines wider than a narrow pane, numbered at their start."""
    return b"".join(f"{STAMP} w{i:04d} {'-' * 90}\n".encode()
                    for i in range(first, first + count))


async def open_pane(pilot: Any, name: str = "nginx") -> LogPane:
    app = pilot.app
    await feed(pilot)
    table = app.main.table
    table.move_to_key(next(k for k, g in table.guests.items() if g.name == name))
    await pilot.press("l")
    assert await until(pilot, lambda: bool(app.main.query(LogPane)), 5)
    pane = app.main.query_one(LogPane)
    assert await until(pilot, lambda: pane.state == "following", 5), pane.detail
    return pane


async def test_l_shows_follows_searches_and_saves_a_log(fake_log: FakeLog,
                                                       tmp_path: Path) -> None:
    app = fixed_app()
    notes = Notes(app)
    async with app.run_test(size=(140, 30)) as pilot:
        pane = await open_pane(pilot)
        assert fake_log.options is not None and fake_log.options.follow
        assert fake_log.options.timestamps  # asked always: `t` shows or hides them
        assert app.focused is pane.view

        fake_log.push(lines(0, 5))
        assert await until(pilot, lambda: "line 4" in shown(pane), 5), shown(pane)
        assert shown(pane)[0] == "line 0"  # the stamp hidden until `t`

        # Following: new lines show at the bottom as they come, a flood included.
        fake_log.push(lines(5, 3000))
        assert await until(pilot, lambda: shown(pane)[-1] == "line 3004", 5), shown(pane)[-3:]
        assert pane.batches < 100  # batched: not one refresh per line

        # A half line waits for its end.
        fake_log.push(f"{STAMP} half".encode())
        await pilot.pause(0.2)
        assert "half" not in "".join(shown(pane))
        fake_log.push(b" and the rest\n")
        assert await until(pilot, lambda: shown(pane)[-1] == "half and the rest", 5)

        await pilot.press("t")
        assert await until(pilot, lambda: shown(pane)[-1] == f"{STAMP} half and the rest")
        await pilot.press("t")

        # Search (f3): the newest match above, then older ones.
        await pilot.press("f3")
        search = pane.query_one("#log-search", Input)
        assert app.focused is search
        await pilot.press(*"line 12", "enter")
        assert await until(pilot, lambda: pane.view.highlight is not None)
        first = pane.view.highlight
        assert first is not None and pane.ring.lines[first].endswith("line 1299")
        assert "line 1299" in shown(pane)
        await pilot.press("enter")
        assert await until(pilot, lambda: pane.view.highlight != first)
        assert pane.ring.lines[pane.view.highlight or 0].endswith("line 1298")
        await pilot.press("escape")
        assert app.focused is pane.view and not search.display

        # Save (f4): every line held, exactly.
        target = tmp_path / "saved.log"
        await pilot.press("f4")
        assert await until(pilot, lambda: isinstance(app.focused, Input)
                           and app.focused.id == "f-path")
        box = app.focused
        assert isinstance(box, Input)
        box.value = str(target)
        await pilot.press("enter")
        assert await until(pilot, lambda: target.exists())
        saved = target.read_bytes().splitlines()
        assert len(saved) == 3006 and saved[0] == f"{STAMP} line 0".encode()
        assert saved[-1] == f"{STAMP} half and the rest".encode()
        assert await until(pilot, lambda: notes.find("3006 lines saved"))

        # esc: the table has the keys, the pane stays; l goes back to it; f8 closes it.
        await pilot.press("escape")
        assert app.focused is app.main.table and pane.is_attached
        await pilot.press("l")
        assert await until(pilot, lambda: app.focused is pane.view)
        await pilot.press("f8")
        assert await until(pilot, lambda: not app.main.query(LogPane))
        assert app.focused is app.main.table
        assert await until(pilot, lambda: fake_log.closed)  # the stream is let go


async def test_hostile_log_text_is_drawn_inert(fake_log: FakeLog) -> None:
    app = fixed_app()
    async with app.run_test(size=(140, 30)) as pilot:
        pane = await open_pane(pilot)
        fake_log.push(f"{STAMP} a\x1b]52;c;aGk=\x07b\u202ec\x9b2J\tend".encode()
                      + b"\xff\n")  # and a byte that is no UTF-8
        assert await until(pilot, lambda: "end" in "".join(shown(pane)), 5), shown(pane)
        row = next(r for r in shown(pane) if "end" in r)
        assert row == "a\\x1b]52;c;aGk=\\x07b\\u202ec\\x9b2J\\tend\\udcff"
        strips = [pane.view.render_line(y) for y in range(pane.view.size.height)]
        drawn = "".join(s.text for strip in strips for s in strip)
        assert not any(ch in drawn for ch in "\x1b\x07\u202e\x9b\t")


async def test_memory_is_bounded_however_far_the_ui_falls_behind(fake_log: FakeLog) -> None:
    app = fixed_app()
    async with app.run_test(size=(140, 30)) as pilot:
        pane = await open_pane(pilot)
        # Queued faster than taken: the queue keeps no more than the ring does.
        for start in range(0, 50_000, 1000):
            pane.queue([f"{STAMP} q {i}" for i in range(start, start + 1000)])
        assert len(pane._pending) <= pane.ring.max_lines
        assert await until(pilot, lambda: shown(pane)[-1] == "q 49999", 5)
        assert len(pane.ring) == pane.ring.max_lines
        assert pane.ring.total == 50_000
        assert "last 10000 of 50000 lines" in str(pane.query_one("#log-header").render())


async def test_follow_survives_a_horizontal_scrollbar_and_stops_when_scrolled_up(
        fake_log: FakeLog) -> None:
    app = fixed_app()
    async with app.run_test(size=(100, 30)) as pilot:  # the pane narrower than the lines
        pane = await open_pane(pilot)
        fake_log.push(wide(0, 200))
        assert await until(pilot, lambda: any(r.startswith("w0199") for r in shown(pane)), 5)
        await pilot.pause(0.2)  # the horizontal scrollbar is laid out by now
        fake_log.push(wide(200, 200))
        assert await until(pilot, lambda: any(r.startswith("w0399") for r in shown(pane)), 5), \
            shown(pane)[-3:]

        await pilot.press("pageup")  # reading older lines: new ones do not move the view
        await pilot.pause(0.2)
        top = shown(pane)[0]
        fake_log.push(wide(400, 50))
        assert await until(pilot, lambda: pane.ring.total == 450, 5)
        await pilot.pause(0.2)
        assert shown(pane)[0] == top
        await pilot.press("G")  # follow again
        assert await until(pilot, lambda: any(r.startswith("w0449") for r in shown(pane)), 5)
