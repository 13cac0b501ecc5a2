"""XDG locations, in one place."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / default


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "tuivirt"


def config_file() -> Path:
    return config_dir() / "config.toml"


def state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / "tuivirt"


def runtime_dir() -> Path:
    """Where forwarded sockets live: private to the user, short paths (sun_path is 108)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "tuivirt" if base else Path("/tmp") / f"tuivirt-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def safe_name(text: str) -> str:
    """A file name for a host or object name: as is when safe, else sanitised + hash.

    The hash keeps two names that sanitise alike ("a b", "a_b") apart; "~" never
    appears in a name kept as is, and a leading "." is never kept ("..", hidden files).
    """
    if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}", text):
        return text
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", text).lstrip(".")[:60]
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{safe}~{digest}"
