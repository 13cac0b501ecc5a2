"""A daemon's error holding escape sequences, on a real terminal (issue 11, item 1).

A container whose command is an escape sequence: dockerd's refusal to start it quotes
the command, and tuivirt shows that refusal in a notification. The bytes tuivirt writes
to the terminal must hold none of it raw (OSC 52 writes the user's clipboard, OSC 2 the
window title, CSI 2J clears the screen); the escaped text must show.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Lab
from tests.ui.pilot import UserTerminal

pytestmark = pytest.mark.lab

COMMAND = "/bin/\x1b]52;c;cHduZWQ=\x1b\\\x1b]2;pwned\x1b\\\x1b[2J\u009b2Jx"


class RecordingTerminal(UserTerminal):
    """Also keeps every byte written, as the user's terminal received it."""

    def __init__(self, argv: list[str], cols: int, rows: int) -> None:
        self.raw = bytearray()
        super().__init__(argv, cols=cols, rows=rows)

    def received(self, data: bytes) -> None:
        self.raw += data
        super().received(data)


@pytest.fixture()
def hostile_container(lab: Lab) -> Iterator[str]:
    name = f"tvtest-hostile-{uuid.uuid4().hex[:8]}"
    lab.docker("local", "create", "--name", name, "--network", "none", "tiny:latest",
               COMMAND)
    yield name
    lab.docker("local", "rm", "-f", name, check=False)


def test_start_error_with_escape_sequences_reaches_the_terminal_inert(
        lab_config: Path, hostile_container: str) -> None:
    name = hostile_container
    term = RecordingTerminal(["--config", str(lab_config)], cols=160, rows=45)
    try:
        assert term.wait(lambda lines: any(name in line for line in lines), 60), \
            "\n".join(term.lines())
        term.type(f"/{name}\r".encode())
        assert term.wait(lambda lines: any(f"filter: {name}" in line for line in lines),
                         10), "\n".join(term.lines())
        time.sleep(0.3)  # the filtered table drawn: the cursor is on the container
        with term.cond:
            before = len(term.raw)
        term.type(b"s")

        def error_shown() -> bool:  # escaped on screen, or raw in the bytes (the bug)
            with term.cond:
                if b"52;c;cHduZWQ=" in term.raw[before:]:
                    return True
            return "pwned" in "".join(term.lines())

        end = time.monotonic() + 30
        while not error_shown() and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.5)  # the rest of the frame
        with term.cond:
            raw, after = bytes(term.raw), bytes(term.raw[before:])
        text = "".join(term.lines())
    finally:
        term.close()
    assert b"52;c;cHduZWQ=" in after, "the error never reached the screen"
    assert b"\x1b]52" not in raw  # the clipboard
    assert b"\x1b]2;pwned" not in raw  # the window title
    assert b"\x1b[2J" not in after  # the screen cleared (Textual's own start may clear)
    assert "\u009b".encode() not in raw  # C1 CSI
    # The notification (wrapped in its toast) quotes the command, escaped.
    assert "failed" in text
    assert "\\x1b]2;pwned" in text.replace(" ", "")
