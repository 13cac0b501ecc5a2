"""Timestamped backups of definitions, kept before every define (XDG state dir)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tuivirt import paths


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", part) or "_"


def backup_dir(host: str, guest: str) -> Path:
    return paths.state_dir() / "backups" / _safe(host) / _safe(guest)


def save(host: str, guest: str, xml: str) -> Path:
    """Write the previous definition; returns its path. Never overwrites an older one."""
    folder = backup_dir(host, guest)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = folder / f"{stamp}.xml"
    n = 1
    while path.exists():
        path = folder / f"{stamp}-{n}.xml"
        n += 1
    path.write_text(xml, encoding="utf-8")
    return path


def history(host: str, guest: str) -> list[Path]:
    """Backups of one guest, oldest first."""
    folder = backup_dir(host, guest)
    return sorted(folder.glob("*.xml")) if folder.is_dir() else []
