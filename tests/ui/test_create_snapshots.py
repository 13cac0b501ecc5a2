"""SVG snapshot of the new-VM form (`n`, VM), fed fixed host options: a host with KVM
for x86_64 and TCG for aarch64, as the form's note says."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from tests.ui.pilot import feed, fixed_app
from tuivirt.create.caps import ArchOptions, HostOptions, Machine
from tuivirt.ui.create import forms
from tuivirt.ui.create.form_screen import NewGuestForm

OPTIONS = HostOptions(host="local", host_arch="x86_64", archs=(
    ArchOptions("x86_64", "/usr/bin/qemu-system-x86_64", ("kvm", "qemu"),
                (Machine("pc", "pc-i440fx-7.2"), Machine("q35", "pc-q35-7.2")), "pc"),
    ArchOptions("aarch64", "/usr/bin/qemu-system-aarch64", ("qemu",),
                (Machine("virt", "virt-7.2"),), "virt")))


def test_new_vm_form(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        pools, networks = ["default", "images"], ["default"]
        pilot.app.push_screen(NewGuestForm("New VM on local",
                                           forms.vm_fields(OPTIONS, pools),
                                           note=forms.vm_note(OPTIONS, pools, networks),
                                           ok_label="Review the XML"))
        await pilot.pause()
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.press(*"web1")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 40))
