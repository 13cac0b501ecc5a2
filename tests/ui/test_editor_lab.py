"""The XML editor where only the lab shows it: a host lost mid-apply, a host that connects
after the networks view opened, LXC import, Docker inspect, the CLI, two processes' drafts.
The editor's own behaviour runs anywhere, on the demo host: test_editor_demo.py."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.conftest import Lab, run_cli
from tests.ui.pilot import (
    Notes,
    apply_through_diff,
    form,
    make_app,
    open_editor,
    ready,
    replace_first,
    until,
)
from tuivirt import backups, drafts
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import DiffScreen
from tuivirt.ui.editor.xml_editor import DRAFT_AFTER
from tuivirt.ui.networks.screen import NetworksScreen

pytestmark = pytest.mark.lab


def inactive_xml(lab: Lab, host: str, name: str) -> str:
    return lab.virsh(host, "dumpxml", "--inactive", name)


async def test_host_lost_while_applying_keeps_the_buffer(
        lab: Lab, state_home: Path, scratch_vm: Callable[[str], str]) -> None:
    name = scratch_vm("hostb")
    app = make_app(lab)
    async with app.run_test(size=(160, 45)) as pilot:
        notes = Notes(app)
        pane = await open_editor(pilot, name)
        await replace_first(pilot, "131072", "262144")
        buffer = pane.text
        assert await until(pilot, lambda: drafts.load("hostb", "domain", name) is not None,
                           timeout=DRAFT_AFTER + 5)
        await apply_through_diff(pilot)
        subprocess.run(["ip", "link", "set", "tvlab0", "down"], check=True)
        try:
            await pilot.press("y")
            assert await until(pilot, lambda: notes.find("not applied:", "error"),
                               timeout=90)
            assert pane.text == buffer
            await pilot.press("ctrl+t")  # the UI still answers
            assert await until(pilot, lambda: isinstance(app.screen, DiffScreen))
            await pilot.press("escape")
        finally:
            subprocess.run(["ip", "link", "set", "tvlab0", "up"], check=True)
        draft = drafts.load("hostb", "domain", name)
        assert draft is not None and draft.text == buffer
    assert "131072" in inactive_xml(lab, "hostb", name)


@pytest.fixture()
def cleanup(lab: Lab) -> Iterator[list[tuple[str, str, str]]]:
    """(host, "domain"|"network"|"lxc", name) to remove after the test."""
    items: list[tuple[str, str, str]] = []
    yield items
    for host, kind, name in items:
        if kind == "network":
            lab.virsh(host, "net-destroy", name, check=False)
            lab.virsh(host, "net-undefine", name, check=False)
        elif kind == "lxc":
            lab.virsh(host, "undefine", name, uri="lxc:///system", check=False)
        else:
            lab.virsh(host, "destroy", name, check=False)
            lab.virsh(host, "undefine", name, check=False)


async def test_networks_view_start_stop_edit_and_new_from_one(
        lab: Lab, state_home: Path, tmp_path: Path,
        cleanup: list[tuple[str, str, str]]) -> None:
    suffix = uuid.uuid4().hex[:6]
    net = f"tvtest-net-{suffix}"
    (tmp_path / "net.xml").write_text(
        f"<network><name>{net}</name><bridge name='tvb{suffix}'/>"
        "<ip address='10.77.61.1' prefix='24'/></network>")
    lab.virsh("local", "net-define", str(tmp_path / "net.xml"))
    cleanup.append(("local", "network", net))
    copy = f"{net}-2"
    cleanup.append(("local", "network", copy))

    def info(name: str) -> str:
        return lab.virsh("local", "net-info", name)

    app = make_app(lab)
    async with app.run_test(size=(160, 45)) as pilot:
        notes = Notes(app)
        await ready(pilot)
        await pilot.press("N")
        assert await until(pilot, lambda: isinstance(app.screen, NetworksScreen))
        screen = app.screen
        assert isinstance(screen, NetworksScreen)
        assert await until(pilot, lambda: any(n.name == net for n in screen.networks))
        # Both hosts' networks are listed, also a host still connecting when it opened.
        assert await until(pilot, lambda: {n.host for n in screen.networks}
                           >= {"local", "hostb"})
        row = next(i for i, n in enumerate(screen.networks) if n.name == net)
        screen.home().move_cursor(row=row)
        await pilot.pause()
        assert screen.current is not None and screen.current.name == net
        assert screen.current.ranges == ("10.77.61.1/24",)

        await pilot.press("s")
        assert await until(pilot, lambda: "Active:         yes" in info(net))
        await pilot.press("a")
        assert await until(pilot, lambda: "Autostart:      yes" in info(net))
        await pilot.press("S")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: "Active:         no" in info(net))

        # The same editor, for network XML.
        assert await until(pilot, lambda: screen.current is not None
                           and screen.current.name == net)
        await pilot.press("x")
        assert await until(pilot, lambda: screen.editor is not None
                           and f"<name>{net}</name>" in screen.editor.text)
        await pilot.pause()
        await replace_first(pilot, "prefix='24'", "prefix='25'")
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find(f"local/network:{net}: defined"))
        assert "prefix='25'" in lab.virsh("local", "net-dumpxml", "--inactive", net)
        assert backups.history("local", net, "network")

        # Define a new network from this one: new name, bridge left to libvirt, new range.
        await pilot.press("escape")
        await pilot.press("c")
        form_screen = await form(pilot)
        form_screen.query_one("#f-name", Input).value = copy
        form_screen.query_one("#f-cidr", Input).value = "10.77.62.0/24"
        form_screen.query_one("#f-cidr", Input).focus()
        await pilot.press("enter")
        assert await until(pilot, lambda: screen.editor is not None and screen.editor.new)
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find(f"local/network:{copy}: defined"))
    new = lab.virsh("local", "net-dumpxml", "--inactive", copy)
    assert "10.77.62.1" in new and f"tvb{suffix}" not in new


async def test_lxc_native_config_import(lab: Lab, state_home: Path, tmp_path: Path,
                                        cleanup: list[tuple[str, str, str]]) -> None:
    name = f"tvtest-ct-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "config"
    config.write_text(f"lxc.uts.name = {name}\n"
                      f"lxc.rootfs.path = {lab.dir}/tinyct-root\n"
                      "lxc.mount.auto = proc sys\nlxc.net.0.type = empty\n"
                      "lxc.cgroup.memory.limit_in_bytes = 64M\n")
    cleanup.append(("local", "lxc", name))
    app = make_app(lab)
    async with app.run_test(size=(160, 45)) as pilot:
        notes = Notes(app)
        await ready(pilot)
        app.main.action_import_lxc()
        form_screen = await form(pilot)
        form_screen.query_one("#f-path", Input).value = str(config)
        form_screen.query_one("#f-path", Input).focus()
        await pilot.press("enter")
        assert await until(pilot, lambda: app.main.editor is not None
                           and app.main.editor.new)
        pane = app.main.editor
        assert pane is not None and "<domain type='lxc'>" in pane.text
        assert "65536" in pane.text  # the memory limit, converted by libvirt
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find(f"local/{name}: defined"))
        # A missing file: a clear message, nothing opened.
        app.main.action_import_lxc()
        form_screen = await form(pilot)
        form_screen.query_one("#f-path", Input).value = "/nonexistent/config"
        form_screen.query_one("#f-path", Input).focus()
        await pilot.press("enter")
        assert await until(pilot, lambda: notes.find("import /nonexistent/config", "error"))
    assert "OS Type:        exe" in lab.virsh("local", "dominfo", name, uri="lxc:///system")


async def test_docker_x_shows_inspect_json_read_only(lab: Lab, state_home: Path) -> None:
    app = make_app(lab)
    async with app.run_test(size=(160, 45)) as pilot:
        notes = Notes(app)
        await ready(pilot, "tinybox")
        await pilot.press("x")
        assert await until(pilot, lambda: app.main.editor is not None
                           and '"Id"' in app.main.editor.text)
        pane = app.main.editor
        assert pane is not None and pane.read_only and pane.area.read_only
        await pilot.press("ctrl+s")
        assert notes.find("read-only", "warning")


def test_cli_history_and_restore(lab: Lab, lab_config: Path,
                                 scratch_vm: Callable[[str], str], tmp_path: Path) -> None:
    name = scratch_vm("hostb")
    changed = inactive_xml(lab, "hostb", name).replace("131072", "262144")
    (tmp_path / "new.xml").write_text(changed)
    result = run_cli("define", "hostb", str(tmp_path / "new.xml"), config=lab_config)
    assert result.returncode == 0, result.stderr
    listing = run_cli("history", f"hostb/{name}", config=lab_config)
    assert listing.returncode == 0 and "1  " in listing.stdout, listing
    refused = run_cli("restore", f"hostb/{name}", config=lab_config)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert "262144" in inactive_xml(lab, "hostb", name)
    restored = run_cli("restore", f"hostb/{name}", "--yes", config=lab_config)
    assert restored.returncode == 0, restored.stderr
    assert "+  <memory unit='KiB'>131072</memory>" in restored.stdout  # the diff, first
    assert "<memory unit='KiB'>131072</memory>" in inactive_xml(lab, "hostb", name)
    bad = run_cli("restore", f"hostb/{name}", "9", "--yes", config=lab_config)
    assert bad.returncode == 2 and "no backup number 9" in bad.stderr
    unknown = run_cli("edit", "nosuchguest", config=lab_config)
    assert unknown.returncode == 2 and "nosuchguest" in unknown.stderr
    docker = run_cli("edit", "local/tinybox", config=lab_config)
    assert docker.returncode == 2 and "no XML definition" in docker.stderr


def test_cli_import_lxc_print(lab: Lab, lab_config: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(f"lxc.uts.name = printed\nlxc.rootfs.path = {lab.dir}/tinyct-root\n")
    result = run_cli("import-lxc", "local", str(config), "--print", config=lab_config)
    assert result.returncode == 0, result.stderr
    assert "<name>printed</name>" in result.stdout
    missing = run_cli("import-lxc", "local", "/nonexistent", "--print", config=lab_config)
    assert missing.returncode == 1 and "/nonexistent" in missing.stderr


def test_two_instances_editing_one_definition_each_keep_their_draft(
        lab: Lab, lab_config: Path, state_home: Path) -> None:
    # Was: one draft file per definition; A typed AAA, B typed BBB, both were killed,
    # and only BBB survived, silently.
    from tests.ui.pilot import UserTerminal

    def editor() -> UserTerminal:
        return UserTerminal(["--config", str(lab_config), "edit", "local/tiny"])

    def shows(text: str) -> Callable[[list[str]], bool]:
        return lambda lines: any(text in line for line in lines)

    first, second = editor(), editor()
    try:
        for term in (first, second):  # both open before either types
            assert term.wait(shows("<name>tiny</name>"), 60), "\n".join(term.lines())
        for term, marker in ((first, "AAA"), (second, "BBB")):
            term.type(f"\x1b[B\x1b[F<!-- {marker} -->".encode())  # down, end, text
            assert term.wait(shows(f"<name>tiny</name><!-- {marker} -->"), 10)
            assert term.wait(shows("draft saved"), DRAFT_AFTER + 10), "\n".join(term.lines())
    finally:
        for term in (first, second):
            term.proc.kill()  # kill -9: nothing runs on the way out
            term.proc.wait()
            term.hang_up()
    third = editor()
    try:
        # The dialog's title can be drawn a frame before its list: wait for all of it.
        assert third.wait(lambda lines: all(shows(text)(lines) for text in (
            "2 unapplied drafts of local/tiny", "AAA", "BBB")), 60), "\n".join(third.lines())
        lines = third.lines()
        aaa = next(n for n, line in enumerate(lines) if "AAA" in line)
        bbb = next(n for n, line in enumerate(lines) if "BBB" in line)
        assert bbb < aaa  # newest first
        third.type(b"\x1b[B\r")  # the second: AAA's
        assert third.wait(shows("<name>tiny</name><!-- AAA -->"), 15), \
            "\n".join(third.lines())
        assert not shows("BBB")(third.lines())
        third.type(b"\x11")  # ctrl+q: asks; discard
        assert third.wait(shows("Close and discard the changes"), 10)
        third.type(b"\x1b[B\r")
        assert third.proc.wait(15) == 0
    finally:
        third.close()
    # AAA's draft went with the discard; BBB's, not chosen, is still there.
    left = drafts.find("local", "domain", "tiny").drafts
    assert [("BBB" in d.text, "AAA" in d.text) for d in left] == [(True, False)]
