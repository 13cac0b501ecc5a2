"""The storage view's forms: a new volume, a new size; what the user typed, checked.

Checked here before any daemon is asked, with the words the CLI uses, so that a typo
costs no round trip and the form comes back with what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuivirt.model import Pool, Volume
from tuivirt.session.storage import BACKED_FORMATS, VOLUME_FORMATS, volume_name_problem
from tuivirt.sizes import SizeError, human_size, parse_size
from tuivirt.ui.common.dialogs import Field

NO, YES = "no", "yes"


@dataclass(frozen=True, slots=True)
class NewVolume:
    name: str
    capacity: int
    format: str
    backing: str | None  # a path


def new_volume_fields(values: dict[str, str] | None = None) -> list[Field]:
    """The form's fields, holding what was typed when it comes back after a mistake."""
    typed = values or {}
    return [
        Field("name", "Name", typed.get("name", ""), placeholder="e.g. disk1.qcow2"),
        Field("size", "Size (512M, 2G, 1.5T; G = GiB, GB = 10^9 bytes)",
              typed.get("size", ""), placeholder="e.g. 10G"),
        Field("format", "Format", typed.get("format", "qcow2"), options=VOLUME_FORMATS),
        Field("backing", "Backing image (optional: a volume of this pool, or a path)",
              typed.get("backing", ""), placeholder="e.g. base.qcow2"),
    ]


def parse_new_volume(values: dict[str, str], pool: Pool,
                     volumes: list[Volume]) -> NewVolume | str:
    """The volume to create, or why not (a message). `volumes`: the pool's, to find a
    backing image given by its volume name."""
    name, fmt, backing = values["name"], values["format"], values["backing"]
    problem = volume_name_problem(name)
    if problem is not None:
        return problem
    if not values["size"]:
        return "give a size (e.g. 10G)"
    try:
        capacity = parse_size(values["size"])
    except SizeError as exc:
        return str(exc)
    if capacity <= 0:
        return "the size must be more than 0 bytes"
    if any(v.name == name for v in volumes):
        return f"a volume named {name!r} already exists in pool {pool.name}"
    path: str | None = None
    if backing:
        if fmt not in BACKED_FORMATS:
            return (f"a {fmt} volume cannot have a backing file (formats that can: "
                    f"{', '.join(BACKED_FORMATS)})")
        if backing.startswith("/"):
            path = backing
        else:
            found = [v for v in volumes if v.name == backing]
            if not found:
                return (f"no volume {backing!r} in pool {pool.name}: give one of its "
                        "volumes or an absolute path")
            path = found[0].path
    return NewVolume(name, capacity, fmt, path)


def resize_fields(volume: Volume, values: dict[str, str] | None = None) -> list[Field]:
    typed = values or {}
    return [
        Field("size", f"New size (now {human_size(volume.capacity)})",
              typed.get("size", ""), placeholder="e.g. 20G"),
        Field("shrink", "Allow shrinking (what lies past the new end is lost)",
              typed.get("shrink", NO), options=(NO, YES)),
    ]


def parse_resize(values: dict[str, str], volume: Volume) -> tuple[int, bool] | str:
    """(new capacity, shrink allowed), or why not."""
    if not values["size"]:
        return "give the new size (e.g. 20G)"
    try:
        capacity = parse_size(values["size"])
    except SizeError as exc:
        return str(exc)
    shrink = values["shrink"] == YES
    if capacity < volume.capacity and not shrink:
        return (f"{human_size(capacity)} is less than its {human_size(volume.capacity)}: "
                "shrinking loses what lies past the new end; choose 'yes' to allow it")
    return capacity, shrink
