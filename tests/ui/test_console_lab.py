"""Consoles against the lab's real guests: QEMU on both hosts, LXC, Docker, SSH fallback."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Lab, run_cli
from tests.ui.pilot import UserTerminal, make_app, open_first_console, ready, shows, until
from tuivirt.backends.libvirt.loop import ensure_event_loop
from tuivirt.config import parse_config
from tuivirt.model import GuestState
from tuivirt.session import Fleet
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.console.app import ConsoleApp
from tuivirt.ui.console.pane import ConsolePane

pytestmark = pytest.mark.lab

PROMPT = "tiny#"  # lines() strips the trailing space


def screen_text(pane: ConsolePane) -> str:
    return "\n".join(pane.terminal.lines())


async def run_command(pilot: Any, pane: ConsolePane, command: str, expect: str,
                      timeout: float = 60) -> None:
    """Type a command as a user would and wait for its output on the pane."""
    marker = len(pane.terminal.lines())
    await pilot.press(*command, "enter")
    ok = await until(pilot, lambda: expect in "\n".join(pane.terminal.lines()[marker - 1:]),
                     timeout=timeout)
    assert ok, f"{expect!r} never showed; the pane says:\n{screen_text(pane)[-800:]}"


async def open_console(pilot: Any, name: str, timeout: float = 90) -> ConsolePane:
    app: TuivirtApp = pilot.app
    await ready(pilot, name)
    await pilot.press("c")
    assert await until(pilot, lambda: any(p.guest.name == name for p in app.main.consoles()))
    pane = next(p for p in app.main.consoles() if p.guest.name == name)
    assert await until(pilot, lambda: pane.state == "connected", timeout=30), pane.detail
    assert app.focused is pane.terminal
    # A booting guest prints its banner first: wait for the shell's prompt.
    assert await until(pilot, lambda: PROMPT in screen_text(pane), timeout=timeout), \
        screen_text(pane)[-500:]
    return pane


@pytest.mark.parametrize("host", ["local", "hostb"])
async def test_qemu_console_type_a_command_and_read_its_output(
        lab: Lab, state_home: Path, running_vm: Callable[[str], str], host: str) -> None:
    name = running_vm(host)
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_console(pilot, name)
        assert pane.transport is not None and "libvirt console stream" in pane.transport.label
        if host == "hostb":
            assert "over ssh" in pane.transport.label
        await run_command(pilot, pane, "echo $((6 * 7))-answer", "42-answer")
        # ctrl+c reaches the guest (it interrupts the sleep), ctrl+] gives the table back.
        await pilot.press(*"sleep 100", "enter", "ctrl+c")
        await run_command(pilot, pane, "echo after-interrupt", "after-interrupt", timeout=20)
        await pilot.press("ctrl+right_square_bracket")
        await pilot.pause()
        assert app.focused is app.main.table
        assert pane.state == "connected"  # still connected behind the table


async def test_lxc_console(lab: Lab, state_home: Path) -> None:
    lab.virsh("local", "start", "tinyct", uri="lxc:///system", check=False)
    app = make_app(lab)
    try:
        async with app.run_test(size=(140, 45)) as pilot:
            pane = await open_console(pilot, "tinyct")
            await run_command(pilot, pane, "echo lxc-$((2 + 3))", "lxc-5")
    finally:
        lab.virsh("local", "destroy", "tinyct", uri="lxc:///system", check=False)


async def test_console_reconnects_when_the_guest_comes_back(
        lab: Lab, state_home: Path, running_vm: Callable[[str], str]) -> None:
    name = running_vm("local")
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_console(pilot, name)
        await run_command(pilot, pane, "echo first-boot", "first-boot")
        # A hard reboot: QEMU goes away and comes back.
        await asyncio.to_thread(lab.virsh, "local", "destroy", name)
        assert await until(pilot, lambda: pane.state == "disconnected", timeout=30)
        assert "closed" in pane.detail or "guest" in pane.detail
        await asyncio.to_thread(lab.virsh, "local", "start", name)
        assert await until(pilot, lambda: pane.state == "connected", timeout=60), pane.detail
        marker = len(pane.terminal.lines())
        assert await until(pilot, lambda: PROMPT in "\n".join(
            pane.terminal.lines()[marker - 1:]), timeout=90)
        await run_command(pilot, pane, "echo second-boot", "second-boot")


async def test_a_second_client_holding_the_console(
        lab: Lab, state_home: Path, running_vm: Callable[[str], str]) -> None:
    name = running_vm("local")
    # Another operator's `virsh console`, on its own terminal.
    master, slave = pty.openpty()
    other = subprocess.Popen(["virsh", "-c", "qemu:///system", "console", name],
                             stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        deadline = time.monotonic() + 20
        seen = b""
        while b"Escape character" not in seen and time.monotonic() < deadline:
            seen += os.read(master, 4096)
        app = make_app(lab)
        async with app.run_test(size=(140, 45)) as pilot:
            await ready(pilot, name)
            await pilot.press("c")
            assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            pane = next(p for p in app.main.consoles() if p.guest.name == name)
            assert pane.state == "busy"
            await pilot.press("y")  # take it over
            assert await until(pilot, lambda: pane.state == "connected", timeout=30)
            await run_command(pilot, pane, "echo taken-over", "taken-over", timeout=90)
            assert await asyncio.to_thread(other.wait, 20) is not None  # they were cut off
    finally:
        if other.poll() is None:
            other.kill()
        os.close(master)


@pytest.fixture()
def tty_container(lab: Lab) -> Iterator[str]:
    name = f"tvtest-tty-{uuid.uuid4().hex[:6]}"
    lab.docker("local", "run", "-d", "-t", "-i", "--network", "none", "--name", name,
               "tiny:latest", "/bin/sh")
    yield name
    lab.docker("local", "rm", "-f", name, check=False)


async def test_docker_console_with_and_without_a_tty(lab: Lab, state_home: Path,
                                                     tty_container: str) -> None:
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_first_console(pilot, tty_container)
        assert pane.transport is not None and "attach" in pane.transport.label
        await run_command(pilot, pane, "echo tty-$((1 + 1))", "tty-2")
        await pilot.press("ctrl+right_square_bracket")

        await ready(pilot, "tinybox")  # no TTY: a shell is exec'd in a new one
        await pilot.press("c")
        assert await until(pilot, lambda: len(app.main.consoles()) == 2
                           and app.main.consoles()[1].state == "connected", timeout=30)
        pane = app.main.consoles()[1]
        assert pane.transport is not None and "exec" in pane.transport.label
        await run_command(pilot, pane, "echo notty-$((2 + 2))", "notty-4")
        # F8 closes the active console; the other stays.
        await pilot.press("ctrl+right_square_bracket", "f8")
        assert await until(pilot, lambda: len(app.main.consoles()) == 1)


def visible_text(pane: ConsolePane) -> str:
    """What the user sees in the terminal view now (scrolled back or not)."""
    view = pane.terminal
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


async def test_scrollback_search_save_zoom_and_resize(lab: Lab, state_home: Path,
                                                      tty_container: str,
                                                      tmp_path: Path) -> None:
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_first_console(pilot, tty_container)
        await run_command(pilot, pane, 'i=1; while [ $i -le 300 ]; do echo "row-$i."; '
                          'i=$((i + 1)); done; echo "end-$((150 * 2))"', "end-300")
        assert "row-12." not in visible_text(pane)  # long scrolled away

        # F3 searches the scrollback (case-insensitive) and shows the line; esc returns.
        await pilot.press("ctrl+right_square_bracket", "f3", *"ROW-12.", "enter")
        assert await until(pilot, lambda: "row-12." in visible_text(pane))
        assert pane.terminal.back > 0
        await pilot.press("escape")
        assert await until(pilot, lambda: "end-300" in visible_text(pane))
        assert app.focused is pane.terminal
        await pilot.press("ctrl+right_square_bracket", "f3", *"no-such-row", "enter")
        assert await until(pilot, lambda: any("not found" in str(n.message)
                                              for n in app._notifications))
        await pilot.press("escape")

        # F4 saves the whole scrollback to the file the user names, in order.
        target = tmp_path / "saved" / "console.log"
        await pilot.press("ctrl+right_square_bracket", "f4")
        await until(pilot, lambda: app.screen.query("#f-path"))
        field = app.screen.query_one("#f-path")
        field.value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert await until(pilot, lambda: target.exists())
        rows = [line for line in target.read_text().splitlines() if line.startswith("row-")]
        assert rows == [f"row-{i}." for i in range(1, 301)]

        # F2 maximises the console (the table hidden) and gives it the keys; ctrl+] gives
        # the table back, shown again.
        table = app.main.table
        await pilot.press("ctrl+right_square_bracket", "f2")
        assert await until(pilot, lambda: app.screen.maximized is pane)
        assert app.focused is pane.terminal and not table.region.height
        await run_command(pilot, pane, "echo zoomed-$((3 + 3))", "zoomed-6")
        await pilot.press("ctrl+right_square_bracket")
        assert await until(pilot, lambda: app.screen.maximized is None
                           and table.region.height > 0)
        assert app.focused is table

        # +/- resize the pane below the table.
        tabs = app.main.console_tabs()
        assert tabs is not None
        before = tabs.size.height
        await pilot.press("plus", "plus")
        assert await until(pilot, lambda: tabs.size.height == before + 8)
        await pilot.press("minus")
        assert await until(pilot, lambda: tabs.size.height == before + 4)
        assert pane.state == "connected"


async def test_ssh_fallback_and_incident_mode(lab: Lab, state_home: Path,
                                             running_vm: Callable[[str], str]) -> None:
    name = running_vm("hostb")
    config = parse_config(lab.config_text(), "lab.toml")
    fleet = Fleet(config)
    try:
        assert not fleet.connect(["hostb"])
        guest = next(g for g in fleet.inventory.guests("hostb") if g.name == name)
        app = ConsoleApp(config, fleet, guest, f"hostb/{name}", via="ssh")
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.pane
            assert await until(pilot, lambda: pane.state == "connected", timeout=30)
            assert pane.transport is not None and pane.transport.label.startswith("ssh:")
            assert await until(pilot, lambda: PROMPT in screen_text(pane), timeout=90)
            await run_command(pilot, pane, "echo via-$((3 * 3))", "via-9")
            await pilot.press("ctrl+right_square_bracket")  # leaves, as virsh console does
            assert await until(pilot, lambda: app.return_code is not None)
    finally:
        fleet.close()


async def test_incident_mode_says_when_its_host_is_lost_and_comes_back(
        lab: Lab, state_home: Path, running_vm: Callable[[str], str]) -> None:
    name = running_vm("hostb")
    ensure_event_loop()  # as `tuivirt console` does: the stream is read on it
    config = parse_config(lab.config_text(), "lab.toml")
    fleet = Fleet(config)  # one console, no live fleet behind it
    try:
        assert not fleet.connect(["hostb"])
        guest = next(g for g in fleet.inventory.guests("hostb") if g.name == name)
        app = ConsoleApp(config, fleet, guest, f"hostb/{name}")
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.pane
            assert await until(pilot, lambda: PROMPT in screen_text(pane), timeout=90)
            subprocess.run(["ip", "link", "set", "tvlab0", "down"], check=True)
            try:
                assert await until(pilot, lambda: pane.state == "disconnected", timeout=90)
                # The live session's probe may notice first ("no answer to ..."); the
                # host's lost link is told as soon as the session knows it.
                assert await until(pilot, lambda: "hostb lost" in pane.detail, timeout=60), \
                    pane.detail
                await pilot.press(*"typed while lost")  # says so; nothing hangs
                assert app.is_running
            finally:
                subprocess.run(["ip", "link", "set", "tvlab0", "up"], check=True)
            assert await until(pilot, lambda: pane.state == "connected", timeout=120), \
                pane.detail
            await pilot.press("ctrl+u")
            await run_command(pilot, pane, "echo back-$((4 * 4))", "back-16", timeout=90)
    finally:
        fleet.close()


async def test_burst_arrives_complete_and_in_order(lab: Lab, state_home: Path,
                                                   tty_container: str) -> None:
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_first_console(pilot, tty_container)
        raw = bytearray()
        feed = pane.terminal.feed

        def tap(data: bytes, *, commit: bool = True) -> None:
            raw.extend(data)
            feed(data, commit=commit)

        pane.terminal.feed = tap  # type: ignore[method-assign]
        count = 150_000  # ~1 MB through the terminal emulator
        await pilot.press(*f"seq 1 {count}; echo burst-done", "enter")
        assert await until(pilot, lambda: b"burst-done\r\n" in raw[-200:], timeout=240), \
            raw[-300:]
        numbers = [int(n) for n in re.findall(rb"^(\d+)\r$", bytes(raw), re.MULTILINE)]
        assert numbers == list(range(1, count + 1))
        # The scrollback is bounded; its end is the end of the burst.
        lines = pane.terminal.lines()
        assert len(pane.terminal.term.history) <= pane.terminal.history
        assert str(count) in "\n".join(lines[-5:])


def test_cli_console_needs_a_terminal_and_a_known_guest(lab_config: Path) -> None:
    result = run_cli("console", "nosuchguest", config=lab_config)
    assert result.returncode == 2 and "terminal" in result.stderr


async def test_console_of_a_stopped_guest_waits_and_connects_when_it_runs(
        lab: Lab, state_home: Path, scratch_vm: Callable[[str], str]) -> None:
    name = scratch_vm("local")
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        await ready(pilot, name)
        await pilot.press("c")
        assert await until(pilot, lambda: any(p.state == "disconnected"
                                              for p in app.main.consoles()), timeout=30)
        pane = app.main.consoles()[0]
        assert pane.guest.state == GuestState.SHUTOFF
        await asyncio.to_thread(lab.virsh, "local", "start", name)
        assert await until(pilot, lambda: pane.state == "connected", timeout=60), pane.detail


async def test_host_lost_under_an_open_console(lab: Lab, state_home: Path,
                                              running_vm: Callable[[str], str]) -> None:
    name = running_vm("hostb")
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        pane = await open_console(pilot, name)
        subprocess.run(["ip", "link", "set", "tvlab0", "down"], check=True)
        try:
            assert await until(pilot, lambda: pane.state == "disconnected", timeout=90)
            assert pane.detail
            # Nothing froze: the table still answers, and typing says why it cannot.
            await pilot.press("ctrl+right_square_bracket", "j", "k")
            assert app.focused is app.main.table
        finally:
            subprocess.run(["ip", "link", "set", "tvlab0", "up"], check=True)
        assert await until(pilot, lambda: pane.state == "connected", timeout=120), \
            pane.detail
        await pilot.press("c")  # back to its tab
        await run_command(pilot, pane, "echo back-$((5 * 5))", "back-25")


async def test_read_only_host_refuses_a_console(lab: Lab, state_home: Path) -> None:
    app = make_app(lab, hostb_read_only=True)
    async with app.run_test(size=(140, 45)) as pilot:
        await ready(pilot, "boxb")
        await pilot.press("c")
        assert await until(pilot, lambda: any(p.state == "refused"
                                              for p in app.main.consoles()), timeout=30)
        pane = app.main.consoles()[0]
        assert "read-only" in pane.detail and pane.transport is None


# -- on a real terminal --------------------------------------------------------------------
# What the pilot cannot show: keys read by the driver's input thread (they go straight to
# the guest while a console has focus) and echoes written straight to the terminal.
def test_incident_mode_on_a_real_terminal(lab_config: Path,
                                          running_vm: Callable[[str], str]) -> None:
    name = running_vm("local")
    term = UserTerminal(["--config", str(lab_config), "console", f"local/{name}"])
    try:
        assert term.wait(shows("connected"), 30), "\n".join(term.lines())
        end = time.monotonic() + 120
        while not term.wait(shows(PROMPT), 3) and time.monotonic() < end:
            term.type(b"\r")  # the guest may still be booting
        # One write, as a paste or a fast typist: every key reaches the guest, in order,
        # and the command and its output are drawn where the guest put them.
        term.type(b"echo pty-$((6 * 7))-ok\r")
        assert term.shows_line("pty-42-ok"), "\n".join(term.lines())
        assert term.wait(shows(f"{PROMPT} echo pty-$((6 * 7))-ok"), 5), \
            "\n".join(term.lines())
        term.type(b"\x1d")  # ctrl+]: leaves, as virsh console does
        assert term.proc.wait(15) == 0
    finally:
        term.close()


def table_filtered_to(lab_config: Path, name: str) -> UserTerminal:
    """tuivirt's table on a real terminal, filtered down to `name`."""
    term = UserTerminal(["--config", str(lab_config)], cols=140, rows=45)
    try:
        assert term.wait(shows(name), 60), "\n".join(term.lines())
        # `/`, the filter and enter in one write: the filter box has them all.
        term.type(f"/{name}\r".encode())
        assert term.wait(shows(f"filter: {name}"), 10), "\n".join(term.lines())
    except BaseException:
        term.close()
        raise
    return term


def test_tuivirt_ends_when_its_terminal_hangs_up(lab_config: Path) -> None:
    # No controlling terminal, so no SIGHUP: Textual's input thread read EOF in a loop
    # at 100 % of a core, for as long as nobody killed it (an hour, once, here).
    term = UserTerminal(["--config", str(lab_config)])
    try:
        assert term.wait(shows("guests"), 60), "\n".join(term.lines())
        term.hang_up()
        assert term.proc.wait(15) == 1
    finally:
        term.close()


def test_incident_mode_keeps_keys_typed_before_it_is_up(lab: Lab, lab_config: Path) -> None:
    # The user types right after the command, before Textual has even started: the
    # keys wait in the terminal, then in the pane while it connects, then reach the guest.
    lab.virsh("local", "start", "tinyct", uri="lxc:///system", check=False)
    term = UserTerminal(["--config", str(lab_config), "console", "local/tinyct"])
    try:
        term.type(b"echo early-$((1 + 2))\r")
        assert term.shows_line("early-3"), "\n".join(term.lines())
    finally:
        term.close()
        lab.virsh("local", "destroy", "tinyct", uri="lxc:///system", check=False)


def test_keys_after_ctrl_bracket_go_to_the_table_not_the_guest(
        lab_config: Path, running_vm: Callable[[str], str]) -> None:
    name = running_vm("local")
    term = table_filtered_to(lab_config, name)
    try:
        term.type(b"c")
        assert term.wait(shows("connected"), 30), "\n".join(term.lines())
        end = time.monotonic() + 120
        while not term.wait(shows(PROMPT), 3) and time.monotonic() < end:
            term.type(b"\r")
        term.type(b"echo before-$((2 + 3))\r")
        assert term.shows_line("before-5")
        # ctrl+], `c` and a command in one read: the table has `c`, the guest the rest
        # (the table's own keys, s, r, D..., would have acted on the guest).
        term.type(b"\x1dcecho again-$((3 + 4))\r")
        assert term.shows_line("again-7"), "\n".join(term.lines())
        # ctrl+] and the keys after it in one read: the table has them, not the guest.
        term.type(b"\x1d/zz-not-a-guest")
        assert term.wait(shows("zz-not-a-guest"), 10), "\n".join(term.lines())
        time.sleep(1)
        guest_lines = [line for line in term.lines() if PROMPT in line]
        assert guest_lines, "\n".join(term.lines())
        assert not any("zz" in line for line in guest_lines), "\n".join(term.lines())
    finally:
        term.close()


def test_keys_typed_while_a_console_opens_reach_the_guest(
        lab_config: Path, tty_container: str) -> None:
    term = table_filtered_to(lab_config, tty_container)
    try:
        # `c` and a command at once, before the console has even opened: kept, then sent.
        term.type(b"cecho ahead-$((5 + 6))\r")
        assert term.shows_line("ahead-11"), "\n".join(term.lines())
    finally:
        term.close()
