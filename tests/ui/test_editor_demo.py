"""The XML editor, clones and the networks view, driven by keys on the demo host.

libvirt's test driver parses, validates (against libvirt's own schema) and defines
domains and networks as a daemon does, in-process: these run on any machine. What only a
real daemon shows (a host lost mid-apply, LXC import, Docker inspect, two processes'
drafts on a real terminal) stays in test_editor_lab.py.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select

from tests.ui.pilot import (
    DEMO_SIZE,
    SPARE,
    Notes,
    apply_through_diff,
    demo_app,
    demo_config,
    demo_conn,
    demo_ready,
    form,
    open_editor,
    replace_first,
    until,
)
from tuivirt import backups, drafts
from tuivirt.model import DefinitionRef
from tuivirt.session import Fleet
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import ChoiceScreen, DiffScreen
from tuivirt.ui.editor.app import EditApp
from tuivirt.ui.editor.xml_editor import DRAFT_AFTER, EditorPane
from tuivirt.ui.networks.screen import NetworksScreen

OLD, NEW = "2097152", "4194304"  # build-runner's memory in KiB, and the edit


def inactive_xml(conn: object, name: str) -> str:
    import libvirt

    xml: str = conn.lookupByName(name).XMLDesc(  # type: ignore[attr-defined]
        libvirt.VIR_DOMAIN_XML_INACTIVE)
    return xml


async def test_edit_memory_apply_backup_and_restore(state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        pane = await open_editor(pilot, "build-runner")
        conn = demo_conn(app)
        await replace_first(pilot, OLD, NEW)
        diff = await apply_through_diff(pilot)
        assert f"-  <memory unit='KiB'>{OLD}</memory>" in diff.diff
        assert f"+  <memory unit='KiB'>{NEW}</memory>" in diff.diff
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("demo/build-runner: defined"))
        assert f"<memory unit='KiB'>{NEW}</memory>" in inactive_xml(conn, "build-runner")
        # The previous definition was kept, and no draft is left behind.
        kept = backups.history("demo", "build-runner")
        assert len(kept) == 1
        assert f"<memory unit='KiB'>{OLD}</memory>" in kept[0].path.read_text()
        assert drafts.load("demo", "domain", "build-runner") is None

        # Restore: the backup goes into the buffer, then the same diff/confirm path.
        await pilot.press("ctrl+r")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("enter")
        assert await until(pilot, lambda: f"{OLD}</memory>" in pane.text)
        diff = await apply_through_diff(pilot)
        assert f"+  <memory unit='KiB'>{OLD}</memory>" in diff.diff
        await pilot.press("y")
        assert await until(pilot, lambda: f"<memory unit='KiB'>{OLD}</memory>"
                           in inactive_xml(conn, "build-runner"))
        assert len(backups.history("demo", "build-runner")) == 2


async def test_xml_that_is_not_well_formed_is_marked_and_never_sent(state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        pane = await open_editor(pilot, "build-runner")
        before = inactive_xml(demo_conn(app), "build-runner")
        area = pane.area
        area.move_cursor(area.document.end)
        await pilot.press(*"<oops")
        assert await until(pilot, lambda: pane.problem is not None)
        assert area.problem_line is not None
        assert "not well-formed" in str(pane.query_one("#ed-problem").render())
        buffer = pane.text
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, DiffScreen)
        assert notes.find("not applied: the XML is not well-formed", "error")
        assert pane.text == buffer
        await pilot.press(*["backspace"] * 5)
        assert await until(pilot, lambda: pane.problem is None)
        assert inactive_xml(demo_conn(app), "build-runner") == before


async def test_libvirts_schema_refusal_is_shown_verbatim_and_the_buffer_kept(
        state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        pane = await open_editor(pilot, "build-runner")
        before = inactive_xml(demo_conn(app), "build-runner")
        await replace_first(pilot, "<devices>", "<bogus/><devices>")
        buffer = pane.text
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("not applied:", "error")
                           and pane.failure is not None)
        assert pane.failure is not None
        assert "failed to validate against schema" in pane.failure
        assert "extra content: bogus" in pane.failure
        assert "extra content: bogus" in str(pane.query_one("#ed-problem").render())
        assert pane.text == buffer
        assert inactive_xml(demo_conn(app), "build-runner") == before


async def test_a_changed_name_or_a_removed_uuid_is_refused_before_any_diff(
        state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        pane = await open_editor(pilot, "build-runner")
        before = pane.text
        # A changed name would define another guest.
        await replace_first(pilot, "<name>build-runner", "<name>build-runner-renamed")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, DiffScreen)
        assert notes.find("name changed", "error")
        # So would a removed uuid.
        pane.area.load_text(before.replace(
            "<uuid>6d3c0f3a-0000-4000-8000-000000000004</uuid>", ""))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, DiffScreen)
        assert notes.find("uuid", "error")
        names = [d.name() for d in demo_conn(app).listAllDomains()]
        assert "build-runner-renamed" not in names and len(names) == 10


async def test_a_definition_changed_meanwhile_is_shown_not_overwritten(
        state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        pane = await open_editor(pilot, "build-runner")
        conn = demo_conn(app)
        await replace_first(pilot, OLD, NEW)
        buffer = pane.text
        # Someone else changes the definition meanwhile.
        theirs = inactive_xml(conn, "build-runner").replace(
            "<vcpu placement='static'>2</vcpu>", "<vcpu placement='static'>3</vcpu>")
        conn.defineXML(theirs)
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: isinstance(app.screen, DiffScreen)
                           and app.screen.confirm_label == "Apply anyway")
        changed = app.screen
        assert isinstance(changed, DiffScreen)
        assert ">3</vcpu>" in changed.diff and NEW in changed.diff
        await pilot.press("escape")  # back: nothing written
        await pilot.pause()
        assert ">3</vcpu>" in inactive_xml(conn, "build-runner")
        assert pane.text == buffer
        # Second thoughts: apply anyway; theirs is kept as the backup.
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: isinstance(app.screen, DiffScreen)
                           and app.screen.confirm_label == "Apply anyway")
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("demo/build-runner: defined"))
        assert f"<memory unit='KiB'>{NEW}</memory>" in inactive_xml(conn, "build-runner")
        assert ">3</vcpu>" in backups.history("demo", "build-runner")[-1].path.read_text()


async def test_a_draft_survives_the_app_and_is_offered_on_reopen(state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        pane = await open_editor(pilot, "build-runner")
        await replace_first(pilot, OLD, "3145728")
        buffer = pane.text
        # On disk while the app still runs: a crash now would not lose it.
        assert await until(pilot, lambda: (d := drafts.load("demo", "domain", "build-runner"))
                           is not None and d.text == buffer, timeout=DRAFT_AFTER + 5)
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        await demo_ready(pilot, "build-runner")
        await pilot.press("x")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("enter")  # "Open the draft"
        assert await until(pilot, lambda: app.main.editor is not None
                           and app.main.editor.text == buffer)


async def test_clone_on_the_same_host_gets_a_new_uuid_and_mac(state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await demo_ready(pilot, "build-runner")
        await pilot.press("C")
        form_screen = await form(pilot)
        assert form_screen.query_one("#f-name", Input).value == "build-runner-clone"
        form_screen.query_one("#f-name", Input).focus()
        await pilot.press("enter")
        assert await until(pilot, lambda: app.main.editor is not None
                           and app.main.editor.new and app.main.editor.is_mounted)
        pane = app.main.editor
        assert pane is not None
        assert "<name>build-runner-clone</name>" in pane.text
        assert "<uuid>" not in pane.text and "52:54:00:00:00:04" not in pane.text
        assert "It has no disks." in pane.note
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("demo/build-runner-clone: defined"))
        conn = demo_conn(app)
        clone = conn.lookupByName("build-runner-clone")
        assert clone.UUIDString() != conn.lookupByName("build-runner").UUIDString()
        xml = inactive_xml(conn, "build-runner-clone")
        assert "<mac address=" in xml and "52:54:00:00:00:04" not in xml
        # It shows in the table, as any guest defined on the host does.
        assert await until(pilot, lambda: any(g.name == "build-runner-clone"
                                              for g in app.main.table.guests.values()))


async def test_clone_to_another_host_names_the_disks_that_must_exist_there(
        state_home: Path) -> None:
    app = demo_app(spare=True)
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await demo_ready(pilot)
        conn = demo_conn(app)
        disk = ("<disk type='file' device='disk'><source file='/srv/images/withdisk.img'/>"
                "<target dev='vda' bus='virtio'/></disk>")
        conn.defineXML(inactive_xml(conn, "build-runner")
                       .replace("<name>build-runner", "<name>withdisk")
                       .replace("<uuid>6d3c0f3a-0000-4000-8000-000000000004</uuid>", "")
                       .replace("<devices>", "<devices>" + disk))
        await demo_ready(pilot, "withdisk")
        await pilot.press("C")
        form_screen = await form(pilot)
        form_screen.query_one("#f-host", Select).value = SPARE
        form_screen.query_one("#f-name", Input).focus()
        await pilot.press("enter")
        assert await until(pilot, lambda: app.main.editor is not None
                           and app.main.editor.new and app.main.editor.is_mounted)
        pane = app.main.editor
        assert pane is not None
        assert "/srv/images/withdisk.img" in pane.note
        assert f"must exist on {SPARE}" in pane.note
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find(f"{SPARE}/withdisk-clone: defined"))
        assert "/srv/images/withdisk.img" in inactive_xml(demo_conn(app, SPARE),
                                                          "withdisk-clone")
        assert "withdisk-clone" not in [d.name() for d in conn.listAllDomains()]


async def test_read_only_host_opens_the_editor_read_only(state_home: Path) -> None:
    app = demo_app(spare_read_only=True)
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        pane = await open_editor(pilot, "build-runner", SPARE)
        before = pane.text
        assert pane.read_only and pane.area.read_only
        await pilot.press(*"junk")  # typing does nothing
        assert pane.text == before
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: notes.find("read-only: refusing to define", "error"))
        assert not isinstance(app.screen, DiffScreen)
        # Nor is it offered as a place to define a clone.
        await pilot.press("escape", "C")
        form_screen = await form(pilot)
        hosts = form_screen.query_one("#f-host", Select)
        assert [str(v) for _label, v in hosts._options] == ["demo"]
        assert inactive_xml(demo_conn(app, SPARE), "build-runner") == before


async def test_networks_view_stop_start_autostart_edit_and_new_from_one(
        state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await demo_ready(pilot)
        net = demo_conn(app).networkLookupByName("default")
        await pilot.press("N")
        assert await until(pilot, lambda: isinstance(app.screen, NetworksScreen))
        screen = app.screen
        assert isinstance(screen, NetworksScreen)
        assert await until(pilot, lambda: [n.name for n in screen.networks] == ["default"])
        assert screen.current is not None and screen.current.name == "default"
        assert screen.current.ranges == (
            "192.168.122.1/24 dhcp 192.168.122.2-192.168.122.254",)

        assert net.isActive() and not net.autostart()
        await pilot.press("S")  # stopping asks first
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: not net.isActive())

        # The same editor, for network XML. (Stopped: the test driver shows an active
        # network's live XML only, so an edit would not show until a restart.)
        await pilot.press("x")
        assert await until(pilot, lambda: screen.editor is not None
                           and "<name>default</name>" in screen.editor.text)
        await pilot.pause()
        await replace_first(pilot, "192.168.122.254", "192.168.122.200")
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("demo/network:default: defined"))
        assert "192.168.122.200" in net.XMLDesc()
        assert backups.history("demo", "default", "network")

        await pilot.press("escape", "s")
        assert await until(pilot, lambda: bool(net.isActive()))
        await pilot.press("a")
        assert await until(pilot, lambda: bool(net.autostart()))

        # Define a new network from this one: new name, bridge left to libvirt, new range.
        await pilot.press("c")
        form_screen = await form(pilot)
        form_screen.query_one("#f-name", Input).value = "default-2"
        form_screen.query_one("#f-cidr", Input).value = "10.77.62.0/24"
        form_screen.query_one("#f-cidr", Input).focus()
        await pilot.press("enter")
        assert await until(pilot, lambda: screen.editor is not None and screen.editor.new)
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("demo/network:default-2: defined"))
        new = demo_conn(app).networkLookupByName("default-2").XMLDesc()
        assert "10.77.62.1" in new and "virbr0" not in new
        assert await until(pilot, lambda: "default-2" in [n.name for n in screen.networks])


async def test_tuivirt_edit_opens_the_editor_alone(state_home: Path) -> None:
    config = demo_config()
    fleet = Fleet(config)
    try:
        assert not fleet.connect(["demo"])
        guest = next(g for g in fleet.inventory.guests("demo") if g.name == "build-runner")
        ref = DefinitionRef("demo", "domain", guest.name, guest.endpoint, guest.id)
        conn = fleet.session("demo").libvirt_for_type("test").conn
        app = EditApp(config, fleet, ref)
        async with app.run_test(size=(120, 40)) as pilot:
            assert await until(pilot, lambda: bool(app.screen.query("EditorPane #ed-area"))
                               and "<name>build-runner</name>" in
                               app.screen.query_one(EditorPane).text)
            await replace_first(pilot, OLD, NEW)
            await apply_through_diff(pilot)
            await pilot.press("y")
            assert await until(pilot, lambda: NEW in inactive_xml(conn, "build-runner"))
            await pilot.press("ctrl+q")  # applied: closes without asking
            assert await until(pilot, lambda: app.return_code is not None)
    finally:
        fleet.close()
