"""Themes: the ones shipped in themes/ and the user's own (TOML files)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from textual.theme import Theme

from tuivirt.errors import TuivirtError


def shipped_themes_dir() -> Path:
    """themes/ as installed (package tuivirt.themes), or at the top of a source tree."""
    try:
        return Path(str(resources.files("tuivirt.themes")))
    except ModuleNotFoundError:  # running from a checkout: themes/ sits beside tuivirt/
        return Path(__file__).resolve().parents[2] / "themes"


def load_themes(extra_dirs: Iterable[Path] = ()) -> list[Theme]:
    """Themes shipped in themes/, then the user's own."""
    sources: list[tuple[str, str]] = []
    for path in sorted(shipped_themes_dir().glob("*.toml")):
        sources.append((path.name, path.read_text(encoding="utf-8")))
    for folder in extra_dirs:
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                sources.append((str(path), path.read_text(encoding="utf-8")))
    themes = []
    for origin, text in sources:
        try:
            data = tomllib.loads(text)
            variables = {str(k): str(v) for k, v in data.pop("variables", {}).items()}
            themes.append(Theme(variables=variables, **data))
        except (tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
            raise TuivirtError(f"theme {origin}: {exc}") from None
    return themes
