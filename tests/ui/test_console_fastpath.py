"""The console pane works the same with its fast paths off (TUIVIRT_FASTPATH=0), only
slower: guest output drawn, keys sent in order. Hermetic: an echoing fake transport."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding

from tests.ptyrun import PtyRun
from tuivirt.backends.console.buffer import ConsoleBuffer
from tuivirt.backends.console.transport import Transport
from tuivirt.model import Guest, GuestState
from tuivirt.ui.console import fastpath
from tuivirt.ui.console.pane import ConsolePane
from tuivirt.ui.console.terminal import LEAVE_KEY, GuestKeysFirst, TerminalView

ROOT = Path(__file__).resolve().parents[2]

# A guest that echoes what it is sent; the app records which thread sent each key.
ECHO_APP = '''
import sys, threading
from textual.app import App
from textual.binding import Binding
from tuivirt.model import Guest, GuestState
from tuivirt.ui.console.pane import ConsolePane
from tuivirt.ui.console.terminal import LEAVE_KEY, GuestKeysFirst

on_ui_thread = []

class Echo:
    label = "echo"
    def __init__(self, buffer):
        self.buffer = buffer
    def send(self, data):
        on_ui_thread.append(threading.current_thread() is threading.main_thread())
        self.buffer.put(data.replace(b"\\r", b"\\r\\n"))
    def resize(self, cols, rows):
        pass
    def close(self):
        pass

class Session:
    def open_console(self, guest, buffer, **kwargs):
        return Echo(buffer)

class Fleet:
    def session(self, host):
        return Session()

guest = Guest(host="h", kind="docker", name="echo", id="1", state=GuestState.RUNNING)
pane = ConsolePane(Fleet(), guest, "h/echo", leave_hint="ctrl+] quits")

class Echoing(GuestKeysFirst, App[int]):
    BINDINGS = [Binding(LEAVE_KEY, "leave_terminal", show=False, priority=True)]
    def compose(self):
        yield pane
    def on_mount(self):
        pane.terminal.focus()
    def leave_terminal(self, terminal):
        self.exit(0)

code = Echoing().run()
print(f"keys: {on_ui_thread.count(True)} on the UI thread, "
      f"{on_ui_thread.count(False)} from the input thread", file=sys.stderr)
sys.exit(code)
'''


class Screenful(PtyRun):
    """The script on a pseudo-terminal; what it draws, as the user's terminal shows it."""

    def __init__(self, switch: str) -> None:
        import pyte

        self.screen = pyte.Screen(100, 20)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        super().__init__([sys.executable, "-c", ECHO_APP], cols=100, rows=20, cwd=ROOT,
                         env={"TUIVIRT_FASTPATH": switch})

    def received(self, data: bytes) -> None:
        self.raw += data
        self.stream.feed(data)

    def shows(self, text: str, timeout: float = 20) -> bool:
        end = time.monotonic() + timeout
        while True:
            with self.cond:
                if any(text in line for line in self.screen.display):
                    return True
            if time.monotonic() > end:
                return False
            time.sleep(0.02)

    def text(self) -> str:
        with self.cond:
            return "\n".join(line.rstrip() for line in self.screen.display)


@pytest.mark.parametrize("switch", ["1", "0"])
def test_a_console_on_a_real_terminal_with_the_fast_paths_on_and_off(switch: str) -> None:
    term = Screenful(switch)
    try:
        assert term.shows("connected"), term.text()
        word = "typed-one-by-one"
        for char in word:  # each echoed before the next: the input thread's keys, if on
            term.send(char.encode())
            assert term.shows("typed-one-by-one"[:word.index(char) + 1], 10), term.text()
        term.send(b"\rall-in-one-write\r")
        assert term.shows("all-in-one-write"), term.text()
        lines = [line.strip() for line in term.text().splitlines()]
        assert lines.index(word) < lines.index("all-in-one-write"), term.text()
        term.send(b"\x1d")  # ctrl+]
        assert term.proc.wait(15) == 0
        with term.cond:
            tail = bytes(term.raw[-2000:]).decode(errors="replace")
        found = re.search(r"keys: (\d+) on the UI thread, (\d+) from the input thread", tail)
        assert found, tail
        ui, fast = int(found[1]), int(found[2])
        assert ui + fast == len(word) + len("\rall-in-one-write\r")  # each key sent once
        if switch == "0":
            assert fast == 0  # the plain route: every key through the app's queue
        else:
            assert fast > 0  # keys straight from the input thread
    finally:
        term.close()


# -- with the pilot --------------------------------------------------------------------------
class FakeTransport(Transport):
    label = "fake"

    def __init__(self, buffer: ConsoleBuffer) -> None:
        self.buffer = buffer
        self.sent = bytearray()

    def send(self, data: bytes) -> None:
        self.sent += data

    def close(self) -> None:
        pass


class Fleet:
    def __init__(self) -> None:
        self.transports: list[FakeTransport] = []

    def session(self, host: str) -> Any:
        return self

    def open_console(self, guest: Guest, buffer: ConsoleBuffer, **kwargs: Any) -> Transport:
        transport = FakeTransport(buffer)
        self.transports.append(transport)
        return transport


class OnePane(GuestKeysFirst, App[int]):
    BINDINGS = [Binding(LEAVE_KEY, "leave_terminal", show=False, priority=True)]

    def __init__(self) -> None:
        super().__init__()
        self.fleet = Fleet()
        guest = Guest(host="h", kind="docker", name="box", id="1", state=GuestState.RUNNING)
        self.pane = ConsolePane(self.fleet, guest, "h/box")  # type: ignore[arg-type]

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_mount(self) -> None:
        self.pane.terminal.focus()


@pytest.mark.parametrize("enabled", [True, False], ids=["fast", "plain"])
async def test_the_console_pane_feeds_and_sends_keys_either_way(
        monkeypatch: pytest.MonkeyPatch, enabled: bool) -> None:
    monkeypatch.setattr(fastpath, "ENABLED", enabled)
    app = OnePane()
    async with app.run_test(size=(60, 12)) as pilot:
        for _ in range(100):
            await pilot.pause(0.01)
            if app.fleet.transports and app.pane.transport is not None:
                break
        transport = app.fleet.transports[0]
        assert isinstance(app.pane._waker, fastpath.Waker) and app.pane._waker.fast is enabled
        transport.buffer.put(b"guest says \x1b[1mhello\x1b[0m\r\n$ ")  # from "a thread"
        terminal = app.query_one(TerminalView)
        for _ in range(100):
            await pilot.pause(0.01)
            if "guest says hello" in "\n".join(terminal.lines()):
                break
        assert "guest says hello" in "\n".join(terminal.lines())
        drawn = app.export_screenshot()  # what the screen shows, not only the emulator
        assert "guest" in drawn and "hello" in drawn
        await pilot.press("l", "s", "enter", "ctrl+c", "up")
        await pilot.pause()
        assert bytes(transport.sent) == b"ls\r\x03\x1b[A"
        # The echo paint: now with the fast path, left to the frame without it.
        terminal._painted = 0.0
        terminal.feed(b"x", commit=False)
        assert terminal.paint_now() is enabled
