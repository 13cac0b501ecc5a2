"""The wheel holds every package: `make run` runs the installed tuivirt, not this tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_under_tuivirt_is_installed() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "tuivirt").rglob("__init__.py")}
    assert found - listed == set(), "packages missing from pyproject.toml"
