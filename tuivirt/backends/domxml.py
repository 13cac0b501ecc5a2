"""The facts a listing reads from libvirt's domain and network XML."""

from __future__ import annotations

import re

_TYPE_RE = re.compile(r"<domain\s[^>]*?type=['\"]([^'\"]+)['\"]")
_ARCH_RE = re.compile(r"<type\s[^>]*?arch=['\"]([^'\"]+)['\"]")


def domain_kind_and_arch(xml: str) -> tuple[str, str | None]:
    """The domain type (kvm, qemu, lxc, ...) and guest arch, cheaply, from libvirt's XML.

    libvirt's own output is regular, so a regex is enough and ~50x faster than a parse
    (listing 1000 domains must stay close to `virsh list`).
    """
    kind = _TYPE_RE.search(xml)
    arch = _ARCH_RE.search(xml)
    return (kind[1] if kind else "unknown"), (arch[1] if arch else None)


def network_bridge(xml: str) -> str | None:
    """The bridge a network's XML names (None when libvirt has not assigned one yet)."""
    from tuivirt.xmltools import parse  # lazily, as lxml: listing guests parses no XML

    root = parse(xml)
    bridge = root.find("bridge")
    return bridge.get("name") if bridge is not None else None


def network_ranges(xml: str) -> tuple[str, ...]:
    """Each <ip> as ADDRESS/PREFIX, with its DHCP ranges: what a networks table shows."""
    import ipaddress

    from tuivirt.xmltools import parse

    out = []
    for ip in parse(xml).iterfind("ip"):
        address = ip.get("address")
        if not address:
            continue
        prefix = ip.get("prefix")
        if prefix is None and ip.get("netmask"):
            try:
                prefix = str(ipaddress.IPv4Network(f"0.0.0.0/{ip.get('netmask')}").prefixlen)
            except ValueError:
                prefix = ip.get("netmask")
        text = f"{address}/{prefix}" if prefix else address
        dhcp = [f"{r.get('start')}-{r.get('end')}" for r in ip.iterfind("dhcp/range")]
        if dhcp:
            text += f" dhcp {', '.join(dhcp)}"
        out.append(text)
    return tuple(out)
