"""libvirt storage: pools and volumes, as functions on an endpoint's connection.

Every function that talks to the daemon takes the endpoint's virConnect and is run
through `call`, which does what LibvirtEndpoint's own methods do: the call counts as a
user of the connection (never closed under it) and is bounded by the endpoint's
deadline (a hung daemon answers nothing, for ever). The XML helpers are pure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import libvirt

from tuivirt.backends.libvirt.connection import message
from tuivirt.errors import GuestError
from tuivirt.model import Pool, Volume
from tuivirt.xmltools import parse

if TYPE_CHECKING:
    pass

P = ParamSpec("P")
R = TypeVar("R")

#: Pool actions: what each does to the pool (the bool: autostart on or off).
POOL_ACTIONS: dict[str, Callable[[Any, bool], object]] = {
    "start": lambda pool, _on: pool.create(0),
    "stop": lambda pool, _on: pool.destroy(),
    "autostart": lambda pool, on: pool.setAutostart(1 if on else 0),
    "refresh": lambda pool, _on: pool.refresh(0),
}


# -- XML (pure) ---------------------------------------------------------------------------
def _bytes(element: Any) -> int:
    """A <capacity unit='bytes'>N</capacity>-like element in bytes (libvirt's output
    states bytes; other units are converted for files written by hand)."""
    if element is None or not (element.text or "").strip():
        return 0
    from tuivirt.sizes import parse_size

    unit = element.get("unit", "bytes")
    return parse_size(f"{element.text.strip()}{'' if unit == 'bytes' else unit}")


def pool_facts(xml: str) -> dict[str, Any]:
    """type, target path, capacity, allocation and available from a pool's XML."""
    root = parse(xml)
    return {"type": root.get("type", ""), "path": root.findtext("target/path"),
            "capacity": _bytes(root.find("capacity")),
            "allocation": _bytes(root.find("allocation")),
            "available": _bytes(root.find("available"))}


def volume_record(host: str, pool: str, xml: str) -> Volume:
    """A volume from its XML (one call per volume: the XML holds every fact we show)."""
    root = parse(xml)
    fmt = root.find("target/format")
    # Not stripped: a file name may end in a blank, and it is the volume's name.
    return Volume(host=host, pool=pool, name=root.findtext("name") or "",
                  path=root.findtext("target/path") or "",
                  format=fmt.get("type") if fmt is not None else None,
                  capacity=_bytes(root.find("capacity")),
                  allocation=_bytes(root.find("allocation")),
                  backing=root.findtext("backingStore/path") or None)


def volume_xml(name: str, capacity: int, fmt: str, backing: str | None = None) -> str:
    """A new volume's definition: sparse (allocation 0), in `fmt`, maybe over a backing
    file (libvirt probes the backing file's format itself)."""
    from lxml import etree

    root = etree.Element("volume")
    etree.SubElement(root, "name").text = name
    etree.SubElement(root, "capacity", unit="bytes").text = str(capacity)
    etree.SubElement(root, "allocation", unit="bytes").text = "0"
    target = etree.SubElement(root, "target")
    etree.SubElement(target, "format", type=fmt)
    if backing is not None:
        store = etree.SubElement(root, "backingStore")
        etree.SubElement(store, "path").text = backing
    return str(etree.tostring(root, encoding="unicode", pretty_print=True))


def disk_sources(xml: str) -> tuple[set[str], set[tuple[str, str]]]:
    """What a domain's disks and filesystems use: (paths, {(pool, volume)}).

    Paths from `file`, `dev` and `dir` sources, backing chains included (a base image
    under a running guest's overlay is in use too); `<source pool= volume=>` by name.
    """
    root = parse(xml)
    paths: set[str] = set()
    volumes: set[tuple[str, str]] = set()
    sources = [*(s for disk in root.iterfind("devices/disk") for s in disk.iter("source")),
               *root.iterfind("devices/filesystem/source")]
    for source in sources:
        pool, volume = source.get("pool"), source.get("volume")
        if pool and volume:
            volumes.add((pool, volume))
        for attribute in ("file", "dev", "dir"):
            value = source.get(attribute)
            if value:
                paths.add(os.path.normpath(value))
    return paths, volumes


def volume_users(domains: Iterable[tuple[str, Iterable[str]]], pool: str,
                 volumes: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """{volume name: names of the guests that use it} for `volumes` (name, path) of
    `pool`, given each domain's name and its definitions (live and persistent)."""
    by_path: dict[str, list[str]] = {}
    names: dict[str, list[str]] = {}
    for name, path in volumes:
        names[name] = []
        if path:
            by_path.setdefault(os.path.normpath(path), []).append(name)
    for guest, definitions in domains:
        used: set[str] = set()
        for xml in definitions:
            paths, by_name = disk_sources(xml)
            used.update(v for p in paths for v in by_path.get(p, ()))
            used.update(v for p, v in by_name if p == pool and v in names)
        for volume in used:
            if guest not in names[volume]:
                names[volume].append(guest)
    return {volume: tuple(sorted(guests)) for volume, guests in names.items()}


# -- calls (run through `call`) -----------------------------------------------------------
def _missing_pool(exc: libvirt.libvirtError) -> bool:
    return bool(exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL)


def _missing_volume(exc: libvirt.libvirtError) -> bool:
    return bool(exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL)


def _pool(conn: Any, host: str, name: str) -> Any:
    try:
        return conn.storagePoolLookupByName(name)
    except libvirt.libvirtError as exc:
        raise GuestError(host, name, message(exc), missing=_missing_pool(exc)) from None


def _volume(conn: Any, host: str, pool: str, name: str) -> Any:
    try:
        return _pool(conn, host, pool).storageVolLookupByName(name)
    except libvirt.libvirtError as exc:
        raise GuestError(host, f"{pool}/{name}", message(exc),
                         missing=_missing_volume(exc)) from None


def _pool_record(host: str, endpoint: str, pool: Any) -> Pool:
    facts = pool_facts(str(pool.XMLDesc(0)))
    active = bool(pool.isActive())
    return Pool(host=host, name=pool.name(), uuid=pool.UUIDString(), type=facts["type"],
                active=active, autostart=bool(pool.autostart()),
                persistent=bool(pool.isPersistent()),
                capacity=facts["capacity"] if active else 0,
                allocation=facts["allocation"] if active else 0,
                available=facts["available"] if active else 0,
                path=facts["path"], endpoint=endpoint)


def list_pools(conn: Any, host: str, endpoint: str) -> list[Pool]:
    try:
        pools = conn.listAllStoragePools(0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return []  # a driver without storage
        raise
    out = []
    for pool in pools:
        try:
            out.append(_pool_record(host, endpoint, pool))
        except libvirt.libvirtError as exc:
            if not _missing_pool(exc):  # undefined while we listed: skip it
                raise
    return out


def lookup_pool(conn: Any, host: str, endpoint: str, name: str) -> Pool:
    """The pool's record; GuestError (missing) when there is none of that name."""
    pool = _pool(conn, host, name)
    try:
        return _pool_record(host, endpoint, pool)
    except libvirt.libvirtError as exc:
        raise GuestError(host, name, message(exc), missing=_missing_pool(exc)) from None


def list_volumes(conn: Any, host: str, pool_name: str) -> list[Volume]:
    """The pool's volumes (used_by empty: see domain_definitions and volume_users)."""
    pool = _pool(conn, host, pool_name)
    try:
        volumes = pool.listAllVolumes(0)
    except libvirt.libvirtError as exc:
        raise GuestError(host, pool_name, message(exc), missing=_missing_pool(exc)) from None
    out = []
    for volume in volumes:
        try:
            out.append(volume_record(host, pool_name, str(volume.XMLDesc(0))))
        except libvirt.libvirtError as exc:
            if not _missing_volume(exc):  # deleted while we listed: skip it
                raise
    return out


def lookup_volume(conn: Any, host: str, pool: str, name: str) -> Volume:
    volume = _volume(conn, host, pool, name)
    try:
        return volume_record(host, pool, str(volume.XMLDesc(0)))
    except libvirt.libvirtError as exc:
        raise GuestError(host, f"{pool}/{name}", message(exc),
                         missing=_missing_volume(exc)) from None


def domain_definitions(conn: Any) -> list[tuple[str, list[str]]]:
    """Every domain's name with its live XML, and its persistent one when it runs (a
    disk attached for the next boot uses the volume too)."""
    out = []
    for dom in conn.listAllDomains(0):
        try:
            xmls = [str(dom.XMLDesc(0))]
            if dom.isActive() and dom.isPersistent():
                xmls.append(str(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                continue  # undefined while we listed
            raise
        out.append((str(dom.name()), xmls))
    return out


def create_volume(conn: Any, host: str, pool: str, xml: str) -> Volume:
    target = _pool(conn, host, pool)
    try:
        volume = target.createXML(xml, 0)
        return volume_record(host, pool, str(volume.XMLDesc(0)))
    except libvirt.libvirtError as exc:
        raise GuestError(host, pool, message(exc)) from None


def resize_volume(conn: Any, host: str, pool: str, name: str, capacity: int,
                  shrink: bool) -> Volume:
    volume = _volume(conn, host, pool, name)
    flags = libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK if shrink else 0
    try:
        volume.resize(capacity, flags)
        return volume_record(host, pool, str(volume.XMLDesc(0)))
    except libvirt.libvirtError as exc:
        raise GuestError(host, f"{pool}/{name}", message(exc)) from None


def delete_volume(conn: Any, host: str, pool: str, name: str) -> None:
    volume = _volume(conn, host, pool, name)
    try:
        volume.delete(0)
    except libvirt.libvirtError as exc:
        raise GuestError(host, f"{pool}/{name}", message(exc),
                         missing=_missing_volume(exc)) from None


def pool_action(conn: Any, host: str, name: str, action: str, enable: bool) -> None:
    pool = _pool(conn, host, name)
    try:
        POOL_ACTIONS[action](pool, enable)
    except libvirt.libvirtError as exc:
        raise GuestError(host, name, message(exc)) from None
