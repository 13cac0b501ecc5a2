"""Editor buffers kept on disk, so a crash or a dropped SSH session loses no edit.

One JSON file per object: state_dir/drafts/HOST/KIND/NAME.json, private to the user
(definitions can hold VNC or SPICE passwords). A draft that cannot be read is never
deleted: load() renames it to NAME.json.corrupt-<UTC timestamp> and reports no draft.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tuivirt import paths

Kind = Literal["domain", "network"]
KINDS: tuple[Kind, ...] = ("domain", "network")


@dataclass(frozen=True, slots=True)
class Draft:
    host: str
    kind: Kind
    name: str
    text: str  # the buffer as the user left it
    base: str  # the definition the buffer started from: tells a stale draft apart
    saved_at: float = field(default_factory=time.time)  # unix time


def _root() -> Path:
    return paths.state_dir() / "drafts"


def draft_path(host: str, kind: Kind, name: str) -> Path:
    if kind not in KINDS:
        raise ValueError(f"a draft is for a domain or a network, not {kind!r}")
    return _root() / paths.safe_name(host) / kind / f"{paths.safe_name(name)}.json"


def save(draft: Draft) -> Path:
    """Write the draft atomically (temp file, fsync, rename); returns its path.

    Cheap enough for every debounced keystroke: a few mkdir/open/write calls, one fsync.
    The directory itself is not fsynced: after a power cut the previous draft or the
    new one is there, never a torn file.
    """
    path = draft_path(draft.host, draft.kind, draft.name)
    _root().parent.mkdir(parents=True, exist_ok=True)  # the state dir, shared
    for folder in (_root(), path.parent.parent, path.parent):
        folder.mkdir(mode=0o700, exist_ok=True)
    # ensure_ascii escapes lone surrogates as \udcXX, which json.loads gives back as is
    data = json.dumps({"host": draft.host, "kind": draft.kind, "name": draft.name,
                       "text": draft.text, "base": draft.base,
                       "saved_at": draft.saved_at}).encode("ascii")
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)  # mkstemp's default, said out loud
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return path


def load(host: str, kind: Kind, name: str) -> Draft | None:
    """The draft for this object, or None when there is none or it cannot be read.

    An unreadable draft is renamed to NAME.json.corrupt-<timestamp> (kept, not
    deleted), so the next save does not overwrite what may still be recovered by hand.
    """
    path = draft_path(host, kind, name)
    if not path.exists():
        return None
    draft = _read(path)
    if draft is None or (draft.host, draft.kind, draft.name) != (host, kind, name):
        _quarantine(path)
        return None
    return draft


def discard(host: str, kind: Kind, name: str) -> None:
    draft_path(host, kind, name).unlink(missing_ok=True)


def list_drafts() -> list[Draft]:
    """Every readable draft, newest first; unreadable ones are skipped, left in place."""
    drafts = [d for p in _root().glob("*/*/*.json") if (d := _read(p)) is not None]
    return sorted(drafts, key=lambda d: d.saved_at, reverse=True)


def _read(path: Path) -> Draft | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError included
        return None
    if not isinstance(data, dict):
        return None
    strings = [data.get(key) for key in ("host", "kind", "name", "text", "base")]
    saved_at = data.get("saved_at")
    if (not all(isinstance(s, str) for s in strings) or data["kind"] not in KINDS
            or not isinstance(saved_at, int | float) or isinstance(saved_at, bool)):
        return None
    return Draft(host=data["host"], kind=data["kind"], name=data["name"],
                 text=data["text"], base=data["base"], saved_at=float(saved_at))


def _quarantine(path: Path) -> None:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    with contextlib.suppress(OSError):  # unreadable and unmovable: leave it be
        path.rename(target)
