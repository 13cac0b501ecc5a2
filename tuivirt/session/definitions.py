"""Definitions (the XML editor, `define`, `history`/`restore`) and networks of a host."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from tuivirt.errors import (
    DefinitionChanged,
    GuestError,
    HostError,
)
from tuivirt.model import DOCKER, Applied, DefinitionRef, Guest, Network
from tuivirt.session.core import SessionCore


class Definitions(SessionCore):
    """Reading, checking, backing up and defining domain and network XML."""

    def definition(self, ref: DefinitionRef, *, live: bool = False) -> str:
        """The persistent (inactive) definition, or the live XML, from the daemon."""
        endpoint = self._libvirt_named(ref.endpoint)
        if ref.kind == "network":
            return endpoint.network_xml(ref.name, inactive=not live)
        return endpoint.xml_by_uuid(ref.uuid, ref.name, inactive=not live)

    def _current(self, ref: DefinitionRef) -> str:
        """The definition as it is now; "" when it was undefined meanwhile."""
        endpoint = self._libvirt_named(ref.endpoint)
        try:
            if ref.kind == "network":
                return endpoint.network_xml(ref.name, inactive=True)
            return endpoint.xml_by_uuid(ref.uuid, ref.name, inactive=True)
        except GuestError as exc:
            if exc.missing:
                return ""
            raise

    def _document(self, text: str, kind: str, name: str | None) -> Any:
        """The parsed root of a definition: well-formed and of the expected kind."""
        from tuivirt import xmltools

        problem = xmltools.check_well_formed(text)
        if problem is not None:
            raise GuestError(self.name, name, f"XML is not well-formed: {problem}")
        root = xmltools.parse(text)
        if root.tag != kind:
            raise GuestError(self.name, name, f"expected a <{kind}> document, got "
                             f"<{root.tag}>")
        return root

    def apply_definition(self, ref: DefinitionRef, base: str, text: str, *,
                         new: bool = False, check_identity: bool = True) -> Applied:
        """Define an edited buffer: checked, compared with what the host has, backed up.

        `base` is the definition the buffer started from. When the host's definition is
        no longer `base` (someone else defined it meanwhile), DefinitionChanged carries
        the current one and nothing is written; the caller shows the diff and may apply
        again with the current one as base. `new` defines a fresh object (clone, import).
        `check_identity` False lets a file that omits the uuid redefine (`tuivirt define`).
        """
        from tuivirt import backups, xmltools

        root = self._document(text, ref.kind, ref.name)
        name = (root.findtext("name") or "").strip()
        if not new and check_identity:
            wrong = xmltools.identity_problem(base, text, ref.kind)
            if wrong is not None:
                raise GuestError(self.name, ref.name, wrong)
        self._check_writable(f"define {name or ref.name}", name or ref.name)
        endpoint = (self.libvirt_for_type(root.get("type", "")) if new and ref.kind == "domain"
                    else self._libvirt_named(ref.endpoint))
        backup = None
        if not new:
            current = self._current(ref)
            if current != base:
                raise DefinitionChanged(self.name, ref.name, current)
            if current:
                backup = str(backups.save(self.name, ref.name, current, ref.kind))
        try:
            if ref.kind == "network":
                defined = endpoint.define_network(text)
                self._vm_offer_cache = None  # the new-VM form lists the networks
            else:
                guest = endpoint.define(text)
        except GuestError:
            # Refused: nothing was written, so the backup would only repeat what the host
            # still has (a timeout keeps it: the define may still land).
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)
            raise
        if ref.kind == "network":
            fresh = DefinitionRef(self.name, "network", defined, endpoint.endpoint)
            return Applied(ref=fresh, xml=endpoint.network_xml(defined, inactive=True),
                           backup=backup)
        self.inventory.upsert(guest)
        fresh = DefinitionRef(self.name, "domain", guest.name, guest.endpoint, guest.id)
        return Applied(ref=fresh, xml=endpoint.xml_by_uuid(guest.id, guest.name,
                                                           inactive=True),
                       backup=backup, guest=guest)

    def define(self, xml: str) -> tuple[Guest, str | None]:
        """Define a domain from a file (`tuivirt define`): new, or over the same name.

        A redefinition goes through apply_definition with the host's current definition
        as base, so it is validated and backed up the same way as an edit.
        """
        root = self._document(xml, "domain", None)
        name = (root.findtext("name") or "").strip()
        self._check_writable(f"define {name or 'a domain'}", name or None)
        endpoint = self.libvirt_for_type(root.get("type", ""))
        previous = next((g for g in self.inventory.guests(self.name)
                         if g.name == name and g.endpoint == endpoint.endpoint
                         and g.persistent), None)
        if previous is None:
            with contextlib.suppress(HostError):
                # The inventory may not know it (CLI): ask the daemon.
                for guest in endpoint.list_guests():
                    if guest.name == name and guest.persistent:
                        previous = guest
        ref = DefinitionRef(self.name, "domain", name, endpoint.endpoint,
                            previous.id if previous else "")
        if previous is None:
            applied = self.apply_definition(ref, "", xml, new=True)
        else:
            # A file may drop the uuid (libvirt then matches by name): only the name and
            # the uuid it states, if any, must agree with the guest's.
            uuid = (root.findtext("uuid") or "").strip()
            if uuid and uuid.lower() != previous.id.lower():
                raise GuestError(self.name, name, f"a domain named {name!r} exists with "
                                 f"uuid {previous.id}; this XML says {uuid}")
            applied = self.apply_definition(ref, self.definition(ref), xml,
                                            check_identity=False)
        assert applied.guest is not None
        return applied.guest, applied.backup

    def networks(self) -> list[Network]:
        """Every network once (the QEMU and LXC drivers of one host share them)."""
        seen: dict[str, Network] = {}
        for endpoint in self.libvirt:
            for net in endpoint.list_networks():
                seen.setdefault(net.uuid, net)
        return sorted(seen.values(), key=lambda n: n.name)

    def network_action(self, net: Network, action: str, enable: bool = True) -> None:
        what = {"stop": "stop", "start": "start", "undefine": "undefine"}.get(action, action)
        self._check_writable(f"{what} network {net.name}", net.name)
        self._vm_offer_cache = None  # the new-VM form lists the networks
        self._libvirt_named(net.endpoint).network_action(net.name, action, enable)

    def restore_target(self, ref: DefinitionRef) -> tuple[DefinitionRef, str]:
        """What restoring a backup of `ref` would replace: the definition's reference as
        it is now (a domain's uuid and endpoint may have changed since the backup, or it
        may be gone) and its current text ("" when it is not defined)."""
        if ref.kind == "network":
            try:
                return ref, self.definition(ref)
            except GuestError as exc:
                if not exc.missing:
                    raise
                return ref, ""
        guest = next((g for g in self.inventory.guests(self.name)
                      if g.name == ref.name and g.kind != DOCKER), None)
        if guest is None:
            return ref, ""
        now = DefinitionRef(self.name, "domain", guest.name, guest.endpoint, guest.id)
        return now, self.definition(now)

    def restore(self, ref: DefinitionRef, current: str, text: str) -> Applied:
        """Define a backup again over `current` (from restore_target), as an edit is."""
        try:
            return self.apply_definition(ref, current, text, new=not current)
        except DefinitionChanged:
            raise GuestError(self.name, ref.name, "the definition changed while you were "
                             "deciding: nothing was written; run restore again") from None
