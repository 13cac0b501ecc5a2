"""Timestamped backups of definitions, kept before every define (XDG state dir).

Layout: backups/HOST/NAME/STAMP.xml for domains (as the first releases wrote them) and
backups/HOST/network=NAME/STAMP.xml for networks; `=` never appears in `paths.safe_name`, so a
network's folder cannot collide with a domain's.
"""

from __future__ import annotations

import calendar
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from tuivirt import paths

_STAMP = re.compile(r"^(\d{8}T\d{6})(?:-\d+)?\.xml$")


def backup_dir(host: str, name: str, kind: str = "domain") -> Path:
    folder = paths.safe_name(name) if kind == "domain" else f"{kind}={paths.safe_name(name)}"
    return paths.state_dir() / "backups" / paths.safe_name(host) / folder


def save(host: str, name: str, xml: str, kind: str = "domain") -> Path:
    """Write the previous definition; returns its path. Never overwrites an older one."""
    folder = backup_dir(host, name, kind)
    root = paths.state_dir() / "backups"
    root.parent.mkdir(parents=True, exist_ok=True)  # the state dir, shared
    # Private all the way down: a definition may hold VNC/SPICE passwords, and the
    # folder names alone list the host's guests. chmod also tightens the 0755
    # folders older versions made (and whatever the umask let through).
    for level in (root, folder.parent, folder):
        level.mkdir(mode=0o700, exist_ok=True)
        level.chmod(0o700)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    n = 0
    while True:
        path = folder / (f"{stamp}.xml" if n == 0 else f"{stamp}-{n}.xml")
        try:  # exclusive: two defines in one second (two processes) never collide
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            n += 1
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(xml)
        return path


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    saved_at: float  # unix time, from the file name (UTC)

    @property
    def label(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved_at))


def history(host: str, name: str, kind: str = "domain") -> list[Backup]:
    """Backups of one domain or network, oldest first."""
    folder = backup_dir(host, name, kind)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.xml"):
        match = _STAMP.match(path.name)
        if match is None:
            continue
        saved = calendar.timegm(time.strptime(match[1], "%Y%m%dT%H%M%S"))
        found.append(Backup(path=path, saved_at=float(saved)))
    # Same second: the -N suffix orders them; compare numerically, not as text.
    return sorted(found, key=lambda b: (b.saved_at, _suffix(b.path.name)))


def _suffix(name: str) -> int:
    match = re.search(r"-(\d+)\.xml$", name)
    return int(match[1]) if match else 0
