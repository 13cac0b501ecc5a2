"""Closing a console, or quitting, while the guest's daemon hangs (SIGSTOP): at once.

Aborting a libvirt stream waits for the daemon's answer; on the UI thread that froze
the whole UI (40 s and more) or held the process's exit. A watchdog continues the daemon
after a while, so the old code fails with its figure instead of hanging the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import Lab
from tests.faults import Faults
from tests.ui.pilot import UserTerminal, make_app, open_first_console, shows, until
from tuivirt.ui.table.host_panel import HostPanel

pytestmark = pytest.mark.lab

WATCHDOG = 8.0  # s: then the daemon is continued, and the old code's wait ends
KEY_ANSWERED = 0.5  # s: from f8 on a hung host to the next key's effect
EXITED = 3.0  # s: from the last key to the end of the process


@contextmanager
def watchdog(faults: Faults, host: str) -> Iterator[Callable[[], None]]:
    """Around the whole test (the app's exit too): yields `hang`, which stops the host's
    libvirtd; WATCHDOG seconds later it is continued, whatever the code under test does."""
    timer = threading.Timer(WATCHDOG, faults.cont, (host, "libvirtd"))

    def hang() -> None:
        faults.stop(host, "libvirtd")
        timer.start()

    try:
        yield hang
    finally:
        timer.cancel()


@pytest.mark.parametrize("host", ["local", "hostb"])
async def test_f8_on_a_hung_daemon_closes_the_console_at_once(
        lab: Lab, state_home: Path, running_vm: Callable[[str], str], faults: Faults,
        host: str) -> None:
    name = running_vm(host)
    app = make_app(lab)
    with watchdog(faults, host) as hang:
        async with app.run_test(size=(140, 45)) as pilot:
            await open_first_console(pilot, name)
            await pilot.press("ctrl+right_square_bracket")  # the table's keys: f8 closes
            panel = app.main.query_one(HostPanel)
            shown = panel.display
            hang()
            start = time.monotonic()
            await pilot.press("f8", "h")  # close the console; then the host panel
            await pilot.pause()
            elapsed = time.monotonic() - start
            closed = not app.main.consoles() and app.main.console_tabs() is None
            answered = panel.display is not shown
        print(f"f8 on a hung {host} libvirtd, then a key answered: {elapsed * 1000:.0f} ms")
    assert answered and closed  # the tab is gone; the key after f8 was answered
    assert elapsed < KEY_ANSWERED, f"the UI answered after {elapsed:.1f} s"


def _connected_console(argv: list[str]) -> UserTerminal:
    term = UserTerminal(argv)
    try:
        assert term.wait(shows("connected"), 60), "\n".join(term.lines())
    except BaseException:
        term.close()
        raise
    return term


@pytest.mark.parametrize("host", ["local", "hostb"])
def test_ctrl_bracket_in_incident_mode_exits_at_once_on_a_hung_daemon(
        lab_config: Path, running_vm: Callable[[str], str], faults: Faults,
        host: str) -> None:
    name = running_vm(host)
    term = _connected_console(["--config", str(lab_config), "console", f"{host}/{name}"])
    try:
        with watchdog(faults, host) as hang:
            hang()
            start = time.monotonic()
            term.type(b"\x1d")  # ctrl+]: leaves, as virsh console does
            code = term.proc.wait(WATCHDOG + 10)
            elapsed = time.monotonic() - start
        print(f"ctrl+] on a hung {host} libvirtd, process gone after {elapsed:.2f} s")
        assert code == 0
        assert elapsed < EXITED, f"the process exited after {elapsed:.1f} s"
    finally:
        term.close()


@pytest.mark.parametrize("host", ["local", "hostb"])
@pytest.mark.parametrize("when", ["open", "opening"])
def test_q_with_a_console_on_a_hung_daemon_exits_at_once(
        lab_config: Path, running_vm: Callable[[str], str], faults: Faults,
        host: str, when: str) -> None:
    """`open`: a console was open when the daemon hung; `opening`: it hung first, so
    the console's open waits for the daemon in a worker thread when q is pressed."""
    name = running_vm(host)
    term = UserTerminal(["--config", str(lab_config)], cols=140, rows=45)
    try:
        assert term.wait(shows(name), 60), "\n".join(term.lines())
        term.type(f"/{name}\r".encode())
        assert term.wait(shows(f"filter: {name}"), 10), "\n".join(term.lines())
        with watchdog(faults, host) as hang:
            if when == "open":
                term.type(b"c")
                assert term.wait(shows("connected"), 30), "\n".join(term.lines())
                hang()
            else:
                hang()
                term.type(b"c")
                assert term.wait(shows("connecting"), 10), "\n".join(term.lines())
            term.type(b"\x1d")  # back to the table, where q quits
            time.sleep(0.3)
            start = time.monotonic()
            term.type(b"q")
            code = term.proc.wait(WATCHDOG + 10)
            elapsed = time.monotonic() - start
        print(f"q with a console {when} on a hung {host} libvirtd, process gone after "
              f"{elapsed:.2f} s")
        assert code == 0
        assert elapsed < EXITED, f"the process exited after {elapsed:.1f} s"
    finally:
        term.close()


@pytest.mark.parametrize("host", ["local", "hostb"])
async def test_typing_into_a_console_on_a_hung_daemon_never_freezes_the_ui(
        lab: Lab, state_home: Path, running_vm: Callable[[str], str], faults: Faults,
        host: str) -> None:
    """Keys wait on their own thread, not the UI's; they reach the guest once it answers."""
    name = running_vm(host)
    app = make_app(lab)
    with watchdog(faults, host) as hang:
        async with app.run_test(size=(140, 45)) as pilot:
            pane = await open_first_console(pilot, name)

            def shown() -> str:
                return "\n".join(pane.terminal.lines())

            assert await until(pilot, lambda: "tiny#" in shown(), timeout=90), shown()[-300:]
            hang()
            slowest = 0.0
            for key in [*"x" * 150, "ctrl+u", *"echo typed-$((6 * 7))", "enter"]:
                start = time.monotonic()
                await pilot.press(key)
                slowest = max(slowest, time.monotonic() - start)
            faults.cont(host, "libvirtd")
            assert await until(pilot, lambda: "typed-42" in shown(), timeout=30), \
                shown()[-300:]
    print(f"typing into a console on a hung {host} libvirtd: slowest key {slowest * 1000:.0f} ms")
    assert slowest < 0.3, f"a key took {slowest:.2f} s: the UI waited on the daemon"
