"""XDG locations, in one place."""

from __future__ import annotations

import os
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
