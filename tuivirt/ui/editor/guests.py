"""A guest's definition from the table: edit (x, E), docker inspect, clone (C), and
import of a native LXC config, each opened in the editor pane for review."""

from __future__ import annotations

from functools import partial

from tuivirt import clone, xmltools
from tuivirt.model import DOCKER, DefinitionRef, Guest
from tuivirt.ui.editor.host import EditorHost


class GuestDefinitions(EditorHost):
    """For a screen whose `current_guest()` is the guest under the cursor."""

    def current_guest(self) -> Guest | None:
        raise NotImplementedError

    def action_edit(self, external: bool = False) -> None:
        """`x`: the guest's definition in the pane (docker: its inspect JSON, read-only)."""
        guest = self.current_guest()
        if guest is None:
            self.notify("no guest under the cursor", severity="warning")
            return
        if guest.kind == DOCKER:
            self._show_inspect(guest)
            return
        self.open_definition(DefinitionRef(guest.host, "domain", guest.name, guest.endpoint,
                                           guest.id), external=external)

    def _show_inspect(self, guest: Guest) -> None:
        from tuivirt.ui.editor.xml_editor import EditorPane

        fleet = self.fleet
        address = fleet.inventory.addresses([guest])[guest.key]

        def show(text: str) -> None:
            self.show_editor(EditorPane(None, ref=None, base=text, text=text,
                                        language="json", title=f"{address} · docker inspect"))

        self.in_thread(lambda: fleet.session(guest.host).dumpxml(guest), show, what=address,
                       group="editor")

    def action_clone(self) -> None:
        """`C`: copy a libvirt guest's definition to a new name, here or on another host."""
        from tuivirt.ui.common.dialogs import Field, FormScreen

        guest = self.current_guest()
        if guest is None or guest.kind == DOCKER:
            self.notify("clone copies a libvirt guest's definition: put the cursor on one",
                        severity="warning")
            return
        hosts = self.writable_libvirt_hosts()
        if not hosts:
            self.notify("every libvirt host is read-only: nowhere to define a clone",
                        severity="error")
            return
        source = DefinitionRef(guest.host, "domain", guest.name, guest.endpoint, guest.id)
        fields = [Field("name", "New name", f"{guest.name}-clone"),
                  Field("host", "Define it on host", guest.host if guest.host in hosts
                        else hosts[0], options=hosts)]
        self.app.push_screen(
            FormScreen(f"Clone {guest.host}/{guest.name}", fields, ok_label="Clone",
                       note="The uuid and every MAC address are removed (libvirt assigns "
                       "new ones); disks are not copied: review their paths next."),
            partial(self._clone_into, source))

    def _clone_into(self, source: DefinitionRef, values: dict[str, str] | None) -> None:
        if values is None:
            return
        host, name = values["host"], values["name"]

        def derive(xml: str) -> tuple[str, str]:
            result = clone.clone_domain(xml, name)
            return result.xml, clone_note(source, host, result)

        self.open_derived(source, DefinitionRef(host, "domain", name), derive, "clone")

    def action_import_lxc(self) -> None:
        """Convert a native LXC config on a host into a domain definition to review."""
        from tuivirt.ui.common.dialogs import Field, FormScreen

        hosts = self.writable_libvirt_hosts()
        if not hosts:
            self.notify("no writable libvirt host", severity="error")
            return
        fields = [Field("host", "Host (the file is read there)", hosts[0], options=hosts),
                  Field("path", "Native LXC config", "", placeholder="/var/lib/lxc/NAME/config")]
        self.app.push_screen(FormScreen("Import an LXC container's native config", fields,
                                        ok_label="Convert"), self._import_lxc)

    def _import_lxc(self, values: dict[str, str] | None) -> None:
        if values is None or not values.get("path"):
            return
        host, path = values["host"], values["path"]
        fleet = self.fleet

        def convert() -> tuple[str, str]:
            xml = fleet.session(host).import_native(path)
            return xml, (xmltools.parse(xml).findtext("name") or "imported").strip()

        def review(converted: tuple[str, str]) -> None:
            xml, name = converted
            self.open_new(DefinitionRef(host, "domain", name), xml,
                          f"Converted from {host}:{path} by libvirt (lxc-tools). Review, "
                          "then ctrl+s defines it.")

        self.in_thread(convert, review, what=f"import {path}", group="editor")


def clone_note(source: DefinitionRef, host: str, result: clone.CloneResult) -> str:
    """What the user must review before defining a clone: the storage it would use."""
    lines = [f"Clone of {source.host}/{source.name}: uuid and MAC addresses removed."]
    if result.disks:
        lines.append("Disks are NOT copied. As written, the clone uses:")
        for disk in result.disks:
            flag = " (shared/read-only)" if disk.shared else (
                "  ← the original's: change it or copy the image" if host == source.host
                and disk.source else "")
            lines.append(f"  {disk.device} {disk.target}: {disk.source or '(no source)'}"
                         f"{flag}")
        if host != source.host:
            lines.append(f"These paths must exist on {host}.")
    else:
        lines.append("It has no disks.")
    return "\n".join(lines)


