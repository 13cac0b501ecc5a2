"""Editor buffers kept on disk, so a crash or a dropped SSH session loses no edit.

One JSON file per object and per editor (two tuivirt instances editing the same
definition must not overwrite each other's work):
state_dir/drafts/HOST/KIND/NAME.d/INSTANCE.json, private to the user (definitions can
hold VNC or SPICE passwords). INSTANCE is the pid of the tuivirt and a random part.
The previous version's single file, state_dir/drafts/HOST/KIND/NAME.json, is still read
(as the LEGACY instance). A draft that cannot be read is never deleted: it is renamed to
FILE.corrupt-<UTC timestamp>; one too big for the editor is left where it is.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tuivirt import paths, xmltools

Kind = Literal["domain", "network"]
KINDS: tuple[Kind, ...] = ("domain", "network")



def new_instance() -> str:
    """A new draft owner id: this process's pid, which says whether the instance still
    runs (a hint: pids are reused), and a random part (a reused pid, or a second editor
    pane in this process, never writes over another draft)."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


INSTANCE = new_instance()  # this process's default (each editor pane takes its own)
LEGACY = ""  # the one file per object that versions before per-instance drafts wrote
_INSTANCE_RE = re.compile(r"[0-9]{1,10}-[0-9a-f]{1,32}")
# A draft file holds the buffer and its base as ASCII JSON: up to 6 bytes a character
# (\u escapes) of at most twice the editor's limit. Bigger: not ours, not read.
DRAFT_FILE_MAX = 12 * xmltools.EDITOR_MAX


@dataclass(frozen=True, slots=True)
class Draft:
    host: str
    kind: Kind
    name: str
    text: str  # the buffer as the user left it
    base: str  # the definition the buffer started from: tells a stale draft apart
    saved_at: float = field(default_factory=time.time)  # unix time
    instance: str = INSTANCE  # whose draft: a running or dead tuivirt, or LEGACY

    @property
    def pid(self) -> int | None:
        return int(self.instance.split("-")[0]) if self.instance else None

    @property
    def this_process(self) -> bool:
        """Written by this tuivirt (an editor pane open now or closed earlier)."""
        return self.pid == os.getpid()

    def instance_running(self) -> bool:
        """Whether the tuivirt that wrote it still runs (as far as its pid tells)."""
        if self.this_process:
            return True
        pid = self.pid
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except OSError:  # ESRCH; EPERM: another user's process, so not our tuivirt
            return False
        return True


@dataclass(frozen=True, slots=True)
class Found:
    """The drafts of one object, newest first, and why any others were not loaded."""

    drafts: list[Draft]
    skipped: list[str]


def _root() -> Path:
    return paths.state_dir() / "drafts"


def draft_path(host: str, kind: Kind, name: str, instance: str = INSTANCE) -> Path:
    if kind not in KINDS:
        raise ValueError(f"a draft is for a domain or a network, not {kind!r}")
    if instance != LEGACY and not _INSTANCE_RE.fullmatch(instance):
        raise ValueError(f"not an instance id: {instance!r}")
    folder = _root() / paths.safe_name(host) / kind
    if instance == LEGACY:
        return folder / f"{paths.safe_name(name)}.json"
    # ".d" never ends a legacy file's name (".json"): the two cannot collide.
    return folder / f"{paths.safe_name(name)}.d" / f"{instance}.json"


def save(draft: Draft) -> Path:
    """Write the draft atomically (temp file, fsync, rename); returns its path.

    Cheap enough for every debounced keystroke: a few mkdir/open/write calls, one fsync.
    The directory itself is not fsynced: after a power cut the previous draft or the
    new one is there, never a torn file.
    """
    path = draft_path(draft.host, draft.kind, draft.name, draft.instance)
    size = xmltools.text_size(draft.text)
    problem = xmltools.size_problem(size, "the buffer")
    if problem is not None:
        raise OSError(errno.EFBIG, problem)
    _root().parent.mkdir(parents=True, exist_ok=True)  # the state dir, shared
    folders = [_root(), _root() / paths.safe_name(draft.host), _root() /
               paths.safe_name(draft.host) / draft.kind, path.parent]
    for folder in dict.fromkeys(folders):
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


def load(host: str, kind: Kind, name: str, instance: str | None = None) -> Draft | None:
    """One instance's draft of this object (by default the newest of all), or None when
    there is none or it cannot be read (then renamed aside, see the module doc)."""
    if instance is None:
        found = find(host, kind, name).drafts
        return found[0] if found else None
    path = draft_path(host, kind, name, instance)
    if not path.exists():
        return None
    draft = _read(path, instance)
    if isinstance(draft, str):
        return None
    if draft is None or (draft.host, draft.kind, draft.name) != (host, kind, name):
        _quarantine(path)
        return None
    return draft


def find(host: str, kind: Kind, name: str) -> Found:
    """Every draft of this object, from any instance, running or dead, newest first.

    Unreadable ones are renamed aside; one too big for the editor is left in place and
    said in `skipped`. The size is checked before a byte is read (a 52 MB draft from an
    older version took seconds to load).
    """
    legacy = draft_path(host, kind, name, LEGACY)
    candidates = [(legacy, LEGACY)] if legacy.exists() else []
    folder = draft_path(host, kind, name, "0-0").parent
    if folder.is_dir():
        candidates += [(p, p.stem) for p in sorted(folder.glob("*.json"))
                       if _INSTANCE_RE.fullmatch(p.stem)]
    found: list[Draft] = []
    skipped: list[str] = []
    for path, instance in candidates:
        draft = _read(path, instance)
        if isinstance(draft, str):
            skipped.append(f"{draft}; left in {path}")
        elif draft is None or (draft.host, draft.kind, draft.name) != (host, kind, name):
            _quarantine(path)
        else:
            found.append(draft)
    found.sort(key=lambda d: d.saved_at, reverse=True)
    return Found(found, skipped)


def discard(host: str, kind: Kind, name: str, instance: str = INSTANCE) -> None:
    """Remove one instance's draft of this object (by default this process's)."""
    path = draft_path(host, kind, name, instance)
    path.unlink(missing_ok=True)
    if instance != LEGACY:
        with contextlib.suppress(OSError):  # not empty (another instance's), or gone
            path.parent.rmdir()


def discard_draft(draft: Draft) -> None:
    discard(draft.host, draft.kind, draft.name, draft.instance)


def list_drafts() -> list[Draft]:
    """Every readable draft, newest first; unreadable ones are skipped, left in place."""
    paths_found = [(p, LEGACY) for p in _root().glob("*/*/*.json")]
    paths_found += [(p, p.stem) for p in _root().glob("*/*/*.d/*.json")
                    if _INSTANCE_RE.fullmatch(p.stem)]
    drafts = [d for p, i in paths_found if isinstance(d := _read(p, i), Draft)]
    return sorted(drafts, key=lambda d: d.saved_at, reverse=True)


def _read(path: Path, instance: str) -> Draft | str | None:
    """The draft; None when it cannot be read; a message when it is too big to load."""
    try:
        size = path.stat().st_size
        if size > DRAFT_FILE_MAX:
            return xmltools.size_problem(size, f"draft {path.name}") or ""
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
    problem = xmltools.size_problem(xmltools.text_size(data["text"]), f"draft {path.name}")
    if problem is not None:
        return problem
    return Draft(host=data["host"], kind=data["kind"], name=data["name"],
                 text=data["text"], base=data["base"], saved_at=float(saved_at),
                 instance=instance)


def _quarantine(path: Path) -> None:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    with contextlib.suppress(OSError):  # unreadable and unmovable: leave it be
        path.rename(target)
