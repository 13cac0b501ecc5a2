"""A copy of a guest's or network's definition under a new name, to define next to it.

lxml is imported inside the functions: importing this module stays cheap at startup.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tuivirt.xmltools import NOUN, Kind, parse_or_none, string_value

if TYPE_CHECKING:
    from lxml import etree

_DECLARATION_RE = re.compile(r"\A\s*(<\?xml\b[^>]*\?>)")


def _parse_strict(xml: str, kind: Kind) -> etree._Element:
    root = parse_or_none(xml)
    if root is None:
        raise ValueError(f"the {kind} definition is not well-formed XML")
    if root.tag != kind:
        raise ValueError(f"expected a <{kind}> definition, got <{root.tag}>")
    return root


def _serialize(root: etree._Element, original: str) -> str:
    """The edited tree as text, keeping the original's declaration and final newline.

    lxml writes attributes with double quotes and glues top-level comments to the root;
    we put the newlines between top-level nodes back.
    """
    from lxml import etree

    parts: list[str] = []
    declaration = _DECLARATION_RE.match(original)
    if declaration:
        parts.append(declaration[1])
    doctype = str(getattr(root.getroottree().docinfo, "doctype", ""))  # not in the stubs
    if doctype:
        parts.append(doctype)
    before = list(root.itersiblings(preceding=True))[::-1]
    after = list(root.itersiblings())
    for node in [*before, root, *after]:
        parts.append(etree.tostring(node, encoding="unicode", with_tail=False))
    text = "\n".join(parts)
    return text + "\n" if original.endswith("\n") else text


def _drop(element: etree._Element) -> None:
    """Remove an element and keep the indentation of what follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.getnext() is None:  # the parent's closing tag is indented by our tail
        previous = element.getprevious()
        if previous is not None:
            previous.tail = element.tail
        else:
            parent.text = element.tail
    parent.remove(element)


def _set_name(root: etree._Element, new_name: str) -> None:
    from lxml import etree

    name = root.find("name")
    if name is None:
        name = etree.Element("name")
        name.tail = root.text
        root.insert(0, name)
    for child in list(name):  # e.g. a comment inside <name>: the new name replaces it all
        name.remove(child)
    name.text = new_name


def _has_control(text: str) -> bool:
    """Control characters or lone surrogates: no name libvirt or the kernel should get."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def _check_name(new_name: str, kind: Kind, old_name: str) -> None:
    noun = NOUN[kind]
    if not new_name.strip():
        raise ValueError(f"the new {noun} needs a name")
    if "/" in new_name:
        raise ValueError(f"a {noun} name cannot contain '/': {new_name!r}")
    if _has_control(new_name):
        raise ValueError(f"a {noun} name cannot contain control characters: {new_name!r}")
    if new_name == old_name:
        raise ValueError(f"the clone needs a name other than the original's ({old_name!r})")


@dataclass(frozen=True, slots=True)
class DiskRef:
    """A storage source the guest uses, so the caller can decide: copy it, or share it."""

    target: str  # "vda", "hdc", or the mount point for a <filesystem>
    device: str  # "disk", "cdrom", "floppy", "lun", "filesystem" or "nvram"
    source: str  # a path, a block device, a directory, "pool/volume", or ""
    shared: bool  # readonly, shareable, or a cdrom: the clone can use it as it is


@dataclass(frozen=True, slots=True)
class CloneResult:
    xml: str
    disks: tuple[DiskRef, ...]


def clone_domain(xml: str, new_name: str) -> CloneResult:
    """A definition for a copy of the guest: new name; no uuid, MACs or dynamic labels.

    libvirt assigns a fresh uuid, MAC addresses and VM generation id when they are
    absent and regenerates dynamic security labels (an SMBIOS uuid entry goes too).
    Everything else stays as it was, including the disk sources: the returned `disks`
    say what the caller must copy before defining.
    """
    root = _parse_strict(xml, "domain")
    _check_name(new_name, "domain", string_value(root, "name"))
    _set_name(root, new_name)
    # an SMBIOS uuid left behind would become the clone's uuid: the original's
    for uuid in root.findall("uuid") + root.findall("sysinfo/system/entry[@name='uuid']"):
        _drop(uuid)
    for genid in root.findall("genid"):  # empty: libvirt generates a new one, as it must
        genid.text = None
    for mac in root.findall("devices/interface/mac"):
        _drop(mac)
    for seclabel in root.findall("seclabel"):
        if seclabel.get("type") == "dynamic":
            for label in seclabel.findall("label") + seclabel.findall("imagelabel"):
                _drop(label)
            if len(seclabel) == 0 and not (seclabel.text or "").strip():
                seclabel.text = None
    disks = [_disk_ref(disk) for disk in root.findall("devices/disk")]
    disks += [_filesystem_ref(fs) for fs in root.findall("devices/filesystem")]
    nvram = (root.findtext("os/nvram") or "").strip()
    if nvram:  # the UEFI variables: each guest needs its own copy
        disks.append(DiskRef(target="nvram", device="nvram", source=nvram, shared=False))
    return CloneResult(xml=_serialize(root, xml), disks=tuple(disks))


def _source(element: etree._Element) -> str:
    source = element.find("source")
    if source is None:
        return ""
    if source.get("pool") and source.get("volume"):
        return f"{source.get('pool')}/{source.get('volume')}"
    if element.get("type") == "network" and source.get("name"):
        return f"{source.get('protocol', 'network')}:{source.get('name')}"
    for attribute in ("file", "dev", "dir", "name"):
        value = source.get(attribute)
        if value:
            return value
    return ""


def _disk_ref(disk: etree._Element) -> DiskRef:
    target = disk.find("target")
    device = disk.get("device", "disk")
    shared = (device == "cdrom" or disk.find("readonly") is not None
              or disk.find("shareable") is not None)
    return DiskRef(target=target.get("dev", "") if target is not None else "",
                   device=device, source=_source(disk), shared=shared)


def _filesystem_ref(filesystem: etree._Element) -> DiskRef:
    target = filesystem.find("target")
    return DiskRef(target=target.get("dir", "") if target is not None else "",
                   device="filesystem", source=_source(filesystem),
                   shared=filesystem.find("readonly") is not None)


def clone_network(xml: str, new_name: str, bridge: str | None, cidr: str | None) -> str:
    """A definition for a copy of the network that can run next to the original.

    New name; no uuid or MAC (libvirt assigns them). The bridge must differ: `bridge`
    names it, else the name is dropped and libvirt picks the next free virbrN; only a
    <forward mode='bridge'> network keeps its name, since that bridge is the host's
    own and is meant to be shared. `cidr` renumbers the first <ip> of its family: the
    address becomes the first host, DHCP ranges keep their host offsets when all of
    them fit (else one range from the second host to the last), static leases go.
    """
    root = _parse_strict(xml, "network")
    _check_name(new_name, "network", string_value(root, "name"))
    if bridge is not None:
        _check_bridge(bridge)
    network = _parse_cidr(cidr) if cidr is not None else None
    _set_name(root, new_name)
    for element in root.findall("uuid") + root.findall("mac"):
        _drop(element)
    _set_bridge(root, bridge)
    if network is not None:
        _renumber(root, network)
    return _serialize(root, xml)


def _check_bridge(bridge: str) -> None:
    if not 1 <= len(bridge) <= 15:
        raise ValueError(f"a bridge name has 1 to 15 characters: {bridge!r}")
    if "/" in bridge or any(c.isspace() for c in bridge):
        raise ValueError(f"a bridge name cannot contain '/' or spaces: {bridge!r}")
    if _has_control(bridge):
        raise ValueError(f"a bridge name cannot contain control characters: {bridge!r}")


def _set_bridge(root: etree._Element, bridge: str | None) -> None:
    from lxml import etree

    element = root.find("bridge")
    if bridge is None:
        forward = root.find("forward")
        if element is not None and (forward is None or forward.get("mode") != "bridge"):
            element.attrib.pop("name", "")
        return
    if element is None:
        element = etree.Element("bridge")
        anchor = root.find("name")
        if anchor is not None:  # right after <name>, indented like it
            element.tail = anchor.tail
            anchor.addnext(element)
        else:
            element.tail = root.text
            root.insert(0, element)
    element.set("name", bridge)


_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_cidr(cidr: str) -> _IPNetwork:
    example = "e.g. 192.168.150.0/24 or fd00:150::/64"
    if "/" not in cidr:
        raise ValueError(f"{cidr!r} is not a network in CIDR form ({example})")
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(f"{cidr!r} is not a network in CIDR form ({example}): {exc}") \
            from None
    if network.num_addresses < 4:  # a gateway and at least one guest, plus v4 broadcast
        raise ValueError(f"{cidr!r} is too small for a gateway and guests "
                         f"(at most /{network.max_prefixlen - 2})")
    return network


def _last_host(network: _IPNetwork) -> int:
    """The last address a guest can have (IPv4 keeps its broadcast address back)."""
    last = int(network.broadcast_address)
    return last - 1 if network.version == 4 else last


def _renumber(root: etree._Element, network: _IPNetwork) -> None:
    family = "ipv6" if network.version == 6 else "ipv4"
    ip = next((e for e in root.findall("ip") if _ip_family(e) == family), None)
    if ip is None:
        raise ValueError(f"the network has no {family} <ip> to renumber")
    old = _old_network(ip, network.version)
    base, last = int(network.network_address), _last_host(network)
    address = network.network_address + 1
    ip.set("address", str(address))
    ip.attrib.pop("netmask", "")
    ip.set("prefix", str(network.prefixlen))
    dhcp = ip.find("dhcp")
    if dhcp is None:
        return
    for host in dhcp.findall("host"):
        if host.get("ip") is not None:
            _drop(host)
    ranges = dhcp.findall("range")
    spans = [_offsets(r, old) for r in ranges]
    if all(s is not None and base + 2 <= base + s[0] <= base + s[1] <= last
           for s in spans):
        for element, span in zip(ranges, spans, strict=True):
            assert span is not None
            element.set("start", str(network.network_address + span[0]))
            element.set("end", str(network.network_address + span[1]))
        return
    for extra in ranges[1:]:  # one range over the whole network: no overlaps
        _drop(extra)
    if ranges:
        ranges[0].set("start", str(network.network_address + 2))
        ranges[0].set("end", str(ipaddress.ip_address(last)))


def _ip_family(ip: etree._Element) -> str:
    family = ip.get("family")
    if family:
        return family
    return "ipv6" if ":" in ip.get("address", "") else "ipv4"


def _old_network(ip: etree._Element, version: int) -> _IPNetwork | None:
    prefix = ip.get("prefix") or ip.get("netmask") or ("64" if version == 6 else "24")
    try:
        return ipaddress.ip_network(f"{ip.get('address', '')}/{prefix}", strict=False)
    except ValueError:
        return None


def _offsets(element: etree._Element, old: _IPNetwork | None) -> tuple[int, int] | None:
    """The range's start and end as host offsets in the old network, when they are."""
    if old is None:
        return None
    try:
        start = ipaddress.ip_address(element.get("start", ""))
        end = ipaddress.ip_address(element.get("end", ""))
    except ValueError:
        return None
    if start not in old or end not in old:
        return None
    base = int(old.network_address)
    return int(start) - base, int(end) - base
