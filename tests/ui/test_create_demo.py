"""`n` (a new guest), driven by keys on the demo host (libvirt's test driver): the VM
form, its XML reviewed and edited in the pane, ctrl+s making it (a new volume in pool
`default`, the define with libvirt's validation), and what a refusal leaves behind.
Every outcome is checked on the driver itself (demo_conn), not only on the screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import libvirt
from textual.widgets import Input

from tests.ui.pilot import (
    DEMO_SIZE,
    Notes,
    apply_through_diff,
    demo_app,
    demo_conn,
    demo_ready,
    fill_form,
    form,
    replace_first,
    until,
)
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.dialogs import ChoiceScreen, FormScreen
from tuivirt.ui.editor.xml_editor import EditorPane


def volume_names(app: TuivirtApp) -> list[str]:
    pool = demo_conn(app).storagePoolLookupByName("default")
    return sorted(v.name() for v in pool.listAllVolumes(0))


def domain_names(app: TuivirtApp) -> list[str]:
    return sorted(d.name() for d in demo_conn(app).listAllDomains(0))


async def new_vm_form(pilot: Any) -> FormScreen:
    """`n`, VM (the first kind); the demo is the only host, so its form comes next."""
    app: TuivirtApp = pilot.app
    await demo_ready(pilot)
    await pilot.press("n")
    assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
    await pilot.press("enter")
    screen = await form(pilot)
    assert await until(pilot, lambda: isinstance(app.focused, Input)
                       and app.focused.id == "f-name")
    return screen


VM_FIELDS = ["name", "arch", "machine", "vcpus", "memory", "new_volume", "disk", "kernel",
             "initrd", "cmdline", "network", "start"]


async def fill(pilot: Any, start: bool = False, **typed: str) -> None:
    await fill_form(pilot, VM_FIELDS, typed, {"start": 1} if start else None)


async def review_pane(pilot: Any, name: str) -> EditorPane:
    app: TuivirtApp = pilot.app
    assert await until(pilot, lambda: app.main.editor is not None
                       and app.main.editor.is_mounted and app.main.editor.new
                       and f"<name>{name}</name>" in app.main.editor.text, 10)
    pane = app.main.editor
    assert pane is not None
    await pilot.pause()
    return pane


def inactive_xml(app: TuivirtApp, name: str) -> str:
    xml: str = demo_conn(app).lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    return xml


async def test_n_vm_form_review_edit_the_memory_and_ctrl_s_makes_it(state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        screen = await new_vm_form(pilot)
        assert "i686: test domains" in screen.note  # what the test driver offers
        await fill(pilot, name="made1", memory="64M", new_volume="default:1G", start=True)
        pane = await review_pane(pilot, "made1")
        assert '<memory unit="MiB">64</memory>' in pane.text
        assert ("ctrl+s creates the new volume default/made1.qcow2 (qcow2, 1 GiB) first"
                in pane.note)
        assert "start after define: yes" in pane.note
        assert "made1" not in domain_names(app)  # only shown so far
        assert "made1.qcow2" not in volume_names(app)

        await replace_first(pilot, '"MiB">64<', '"MiB">96<')
        diff = await apply_through_diff(pilot)
        assert '+  <memory unit="MiB">96</memory>' in diff.diff
        assert "creates the new volume default/made1.qcow2" in diff.note
        await pilot.press("y")
        assert await until(pilot, lambda: notes.find("demo/made1: defined"), 10)
        # The edited value is what the driver holds, on the new volume.
        assert "<memory unit='KiB'>98304</memory>" in inactive_xml(app, "made1")
        assert "made1.qcow2" in volume_names(app)
        assert "volume='made1.qcow2'" in inactive_xml(app, "made1")
        assert not pane.new and "<memory unit='KiB'>98304</memory>" in pane.text
        assert demo_conn(app).lookupByName("made1").state()[0] == libvirt.VIR_DOMAIN_RUNNING
        # The table's cursor goes to its row (the pane keeps the focus).
        assert await until(pilot, lambda: app.main.table.current_guest is not None
                           and app.main.table.current_guest.name == "made1")
        assert app.focused is pane.area


async def test_a_taken_name_comes_back_in_the_form_with_the_message(
        state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        notes = Notes(app)
        await new_vm_form(pilot)
        await fill(pilot, name="db-primary", kernel="/boot/vmlinuz")
        assert await until(pilot, lambda: notes.find(
            "not created: a VM named 'db-primary' already exists on demo", "error"), 10)
        screen = await form(pilot)
        assert screen.values()["name"] == "db-primary"
        assert screen.values()["kernel"] == "/boot/vmlinuz"
        assert app.main.editor is None
        # A typo is caught before the host is asked, the same way.
        await pilot.press("escape")
        await new_vm_form(pilot)
        await fill(pilot, name="x1", memory="lots", kernel="/k")
        assert await until(pilot, lambda: notes.find("not created: memory:", "error"))
        screen = await form(pilot)
        assert screen.values()["memory"] == "lots"


async def test_a_define_libvirt_refuses_keeps_the_buffer_and_removes_the_new_volume(
        state_home: Path) -> None:
    app = demo_app()
    async with app.run_test(size=DEMO_SIZE) as pilot:
        await new_vm_form(pilot)
        await fill(pilot, name="refused1", new_volume="default:1G")
        pane = await review_pane(pilot, "refused1")
        before = volume_names(app)
        await replace_first(pilot, "<devices>", "<bogus/><devices>")
        buffer = pane.text
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: pane.failure is not None, 10)
        assert pane.failure is not None
        assert "failed to validate against schema" in pane.failure
        assert "the new volume default/refused1.qcow2 was removed" in pane.failure
        assert "the new volume default/refused1.qcow2 was removed" in str(
            pane.query_one("#ed-problem").render())
        assert pane.text == buffer and pane.new  # nothing lost: fix it, ctrl+s again
        assert volume_names(app) == before and "refused1.qcow2" not in before
        assert "refused1" not in domain_names(app)

        # Fixed in the same buffer, ctrl+s makes it after all.
        await replace_first(pilot, "<bogus/>", "")
        await pilot.press("backspace")  # the selected <bogus/>
        assert await until(pilot, lambda: "<bogus/>" not in pane.text)
        await apply_through_diff(pilot)
        await pilot.press("y")
        assert await until(pilot, lambda: "refused1" in domain_names(app), 10)
        assert "refused1.qcow2" in volume_names(app)
