"""`n` against the lab, keys only: a VM on hostb (x86_64, a new volume in pool `tvlab`, the
lab's tiny kernel + initrd, started on define) and an LXC container on local (from the
lab's busybox root directory), each reviewed in the pane, made by ctrl+s, then `c` opens
its console and a typed command answers. Checked with virsh too, not only on screen.

Names are tvtest-ui-<hex>; whatever was made under them is removed afterwards.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList

from tests.conftest import Lab
from tests.ui.pilot import (
    Notes,
    apply_through_diff,
    fill_form,
    form,
    make_app,
    ready,
    until,
)
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.dialogs import ChoiceScreen
from tuivirt.ui.console.pane import ConsolePane
from tuivirt.ui.create.pull import PullScreen

pytestmark = pytest.mark.lab

POOL = "tvlab"
LXC = "lxc:///system"
PROMPT = "tiny#"
VM_FIELDS = ["name", "arch", "machine", "vcpus", "memory", "new_volume", "disk", "kernel",
             "initrd", "cmdline", "network", "start"]
LXC_FIELDS = ["name", "root", "init", "memory", "vcpus", "network", "start"]
DOCKER_FIELDS = ["name", "image", "cmd", "env", "ports", "volumes", "restart", "start"]


@pytest.fixture()
def ui_name(lab: Lab) -> Iterator[Callable[[str, str], str]]:
    """Fresh tvtest-ui-<hex> names (host, libvirt URI); removed afterwards."""
    made: list[tuple[str, str, str]] = []

    def make(host: str, uri: str = "qemu:///system") -> str:
        name = f"tvtest-ui-{uuid.uuid4().hex[:8]}"
        made.append((host, uri, name))
        return name

    yield make
    for host, uri, name in made:
        if uri == "docker":
            lab.docker(host, "rm", "-f", "-v", name, check=False)
            continue
        lab.virsh(host, "destroy", name, uri=uri, check=False)
        lab.virsh(host, "undefine", name, uri=uri, check=False)
        if uri == "qemu:///system":
            lab.virsh(host, "vol-delete", "--pool", POOL, f"{name}.qcow2", check=False)


async def choose(pilot: Any, option: str) -> None:
    """In the ChoiceScreen on top: down until `option` is highlighted, then enter."""
    app: TuivirtApp = pilot.app
    assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
    options = app.screen.query_one(OptionList)
    for _ in range(options.option_count):
        highlighted = options.highlighted
        if highlighted is not None and options.get_option_at_index(highlighted).id == option:
            break
        await pilot.press("down")
    await pilot.press("enter")


async def made_and_console(pilot: Any, notes: Notes, host: str, name: str,
                           prompt: str = PROMPT) -> ConsolePane:
    """ctrl+s, y; once made: esc, `c`; the console once at its prompt."""
    app: TuivirtApp = pilot.app
    await apply_through_diff(pilot)
    await pilot.press("y")
    assert await until(pilot, lambda: notes.find(f"{host}/{name}: defined"), 120), \
        notes.items
    # The cursor went to its row: esc (back to the table), then `c`.
    assert await until(pilot, lambda: app.main.table.current_guest is not None
                       and app.main.table.current_guest.name == name, 30)
    await pilot.press("escape")
    assert await until(pilot, lambda: app.focused is app.main.table)
    await pilot.press("c")
    assert await until(pilot, lambda: any(p.guest.name == name
                                          for p in app.main.consoles()), 30)
    pane = next(p for p in app.main.consoles() if p.guest.name == name)
    assert await until(pilot, lambda: pane.state == "connected", 60), pane.detail
    end = time.monotonic() + 240
    while time.monotonic() < end and prompt not in "\n".join(pane.terminal.lines()):
        await pilot.press("enter")  # the prompt may have gone by before we came
        await until(pilot, lambda: prompt in "\n".join(pane.terminal.lines()), 3)
    assert prompt in "\n".join(pane.terminal.lines()), pane.terminal.lines()
    return pane


async def answers(pilot: Any, pane: ConsolePane) -> None:
    marker = len(pane.terminal.lines())
    await pilot.press(*"echo made-$((6*7))", "enter")
    assert await until(pilot, lambda: "made-42" in [
        line.strip() for line in pane.terminal.lines()[max(0, marker - 1):]], 60), \
        pane.terminal.lines()


async def test_n_makes_a_vm_on_hostb_that_boots_and_answers_on_its_console(
        lab: Lab, state_home: Path, ui_name: Callable[..., str]) -> None:
    name = ui_name("hostb")
    images = lab.dir / "images"
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        notes = Notes(app)
        await ready(pilot)
        began = time.monotonic()
        await pilot.press("n")
        await choose(pilot, "vm")
        await choose(pilot, "hostb")
        screen = await form(pilot)
        opened = time.monotonic() - began
        assert "x86_64:" in screen.note
        await fill_form(pilot, VM_FIELDS, {
            "name": name, "memory": "128M", "new_volume": f"{POOL}:64M",
            "kernel": str(images / "vmlinuz"), "initrd": str(images / "initrd.gz"),
            "cmdline": "quiet"}, {"start": 1})
        assert await until(pilot, lambda: app.main.editor is not None
                           and app.main.editor.new
                           and f"<name>{name}</name>" in app.main.editor.text, 60), \
            notes.items
        pane = app.main.editor
        assert pane is not None
        assert f"creates the new volume {POOL}/{name}.qcow2" in pane.note
        assert "start after define: yes" in pane.note
        assert "TCG" in pane.note or "KVM" in pane.note
        assert name not in lab.virsh("hostb", "list", "--all", "--name").split()
        console = await made_and_console(pilot, notes, "hostb", name)
        assert lab.domstate("hostb", name) == "running"
        assert f"volume='{name}.qcow2'" in lab.virsh("hostb", "dumpxml", "--inactive", name)
        await answers(pilot, console)
        print(f"hostb: the new-VM form open {opened:.2f} s after `n` (first time: "
              "capabilities over SSH)")


async def test_n_makes_an_aarch64_vm_on_local_that_answers_on_its_console(
        lab: Lab, state_home: Path, ui_name: Callable[..., str]) -> None:
    """A foreign architecture by keys: aarch64 picked in the form, TCG said, ttyAMA0."""
    from textual.widgets import Select

    images = lab.dir / "images"
    for needed in ("arm64-vmlinuz", "arm64-initrd.gz"):
        assert (images / needed).is_file(), f"the lab has no {needed}: run tests/lab/up"
    name = ui_name("local")
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        notes = Notes(app)
        await ready(pilot)
        await pilot.press("n")
        await choose(pilot, "vm")
        await choose(pilot, "local")
        screen = await form(pilot)
        assert "aarch64:" in screen.note and "TCG" in screen.note
        archs = [str(value) for _label, value in screen.query_one("#f-arch", Select)._options]
        current = screen.query_one("#f-arch", Select).value
        assert current == "x86_64", current  # the host's own architecture is proposed
        steps = archs.index("aarch64") - archs.index(str(current))
        await fill_form(pilot, VM_FIELDS, {
            "name": name, "memory": "256M", "kernel": str(images / "arm64-vmlinuz"),
            "initrd": str(images / "arm64-initrd.gz"), "cmdline": "quiet"},
            {"arch": steps, "start": 1})
        assert await until(pilot, lambda: app.main.editor is not None
                           and app.main.editor.new
                           and f"<name>{name}</name>" in app.main.editor.text, 60), \
            notes.items
        pane = app.main.editor
        assert pane is not None
        assert '<type arch="aarch64"' in pane.text and "console=ttyAMA0" in pane.text
        console = await made_and_console(pilot, notes, "local", name, prompt="tinyarm#")
        assert lab.domstate("local", name) == "running"
        marker = len(console.terminal.lines())
        await pilot.press(*"uname -m", "enter")
        assert await until(pilot, lambda: "aarch64" in [
            line.strip() for line in console.terminal.lines()[max(0, marker - 1):]], 60), \
            console.terminal.lines()


async def test_n_makes_an_lxc_container_on_local_that_answers_on_its_console(
        lab: Lab, state_home: Path, ui_name: Callable[..., str]) -> None:
    name = ui_name("local", LXC)
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        notes = Notes(app)
        await ready(pilot)
        await pilot.press("n")
        await choose(pilot, "lxc")  # only local offers LXC: its form comes next
        await form(pilot)
        await fill_form(pilot, LXC_FIELDS, {
            "name": name, "root": str(lab.dir / "rootfs"), "init": "/ctinit",
            "memory": "64M"}, {"start": 1})
        assert await until(pilot, lambda: app.main.editor is not None
                           and app.main.editor.new
                           and f"<name>{name}</name>" in app.main.editor.text, 60), \
            notes.items
        assert "start after define: yes" in app.main.editor.note
        console = await made_and_console(pilot, notes, "local", name)
        assert lab.domstate("local", name, uri=LXC) == "running"
        await answers(pilot, console)


@pytest.fixture()
def silent_registry() -> Iterator[str]:
    """A registry on loopback that takes the connection and never answers: a pull that
    hangs (docker speaks plain HTTP to 127.0.0.0/8)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


async def test_n_makes_a_docker_container_and_a_hung_pull_stops_on_escape(
        lab: Lab, state_home: Path, ui_name: Callable[..., str],
        silent_registry: str) -> None:
    name, hung = ui_name("local", "docker"), ui_name("local", "docker")
    app = make_app(lab)
    async with app.run_test(size=(140, 45)) as pilot:
        notes = Notes(app)
        await ready(pilot)
        await pilot.press("n")
        await choose(pilot, "docker")
        await choose(pilot, "local")
        await form(pilot)
        began = time.monotonic()
        await fill_form(pilot, DOCKER_FIELDS, {"name": name, "image": "tiny",
                                               "cmd": "sleep 1000"}, {"start": 1})
        assert await until(pilot, lambda: notes.find(
            f"local/{name}: created (docker, running; image tiny:latest)"), 60), notes.items
        made = time.monotonic() - began
        assert await until(pilot, lambda: app.main.table.current_guest is not None
                           and app.main.table.current_guest.name == name, 10)
        assert lab.docker("local", "inspect", "-f", "{{.State.Running}}", name) == "true\n"

        await pilot.press("n")
        await choose(pilot, "docker")
        await choose(pilot, "local")
        await form(pilot)
        image = f"{silent_registry}/tvtest/none:1"
        await fill_form(pilot, DOCKER_FIELDS, {"name": hung, "image": image,
                                               "cmd": "sleep 1000"})
        assert await until(pilot, lambda: isinstance(app.screen, PullScreen), 10)
        assert await until(pilot, lambda: "pulling" in str(
            app.screen.query_one("#pull-status").render()), 10)
        await pilot.pause(1.0)  # the daemon waits on the silent registry
        assert isinstance(app.screen, PullScreen)
        await pilot.press("escape")
        assert await until(pilot, lambda: notes.find(
            f"local/{hung}: pull of {image} cancelled: nothing was created"), 30), \
            notes.items
        assert not isinstance(app.screen, PullScreen)
        assert hung not in lab.docker("local", "ps", "-a", "--format", "{{.Names}}").split()
        print(f"local: a container made from the form in {made:.2f} s")
