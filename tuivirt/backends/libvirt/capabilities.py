"""A host's capabilities and domain capabilities, fetched in one bounded call.

Run through `LibvirtConnection.call` (counted on the connection, bounded by its deadline). The
answers are parsed by tuivirt.create.caps; nothing here interprets them beyond picking
the machine and domain type each architecture's domain capabilities are asked for.
"""

from __future__ import annotations

from typing import Any

import libvirt

from tuivirt.create.caps import parse_capabilities


def fetch(conn: Any) -> tuple[str, dict[str, tuple[str | None, bool]]]:
    """(capabilities XML, {arch: (domain capabilities XML or None, kvm usable)}).

    Each architecture's domain capabilities are asked for its proposed machine (arm's
    default, integratorcp, lists other CPUs than 'virt') and for KVM when the host lists
    it: a refusal there means KVM is listed but cannot be used (no /dev/kvm for the
    daemon), and the answer for TCG is taken instead. ~10 ms per architecture.
    """
    caps = str(conn.getCapabilities())
    out: dict[str, tuple[str | None, bool]] = {}
    for arch in parse_capabilities(caps).archs:
        kvm_usable = True
        answer: str | None = None
        for virt_type in arch.domain_types:
            try:
                answer = str(conn.getDomainCapabilities(arch.emulator or None, arch.arch,
                                                        arch.default_machine, virt_type, 0))
                break
            except libvirt.libvirtError:
                if virt_type == "kvm":
                    kvm_usable = False
        out[arch.arch] = (answer, kvm_usable)
    return caps, out
