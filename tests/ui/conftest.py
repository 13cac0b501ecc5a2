"""UI test fixtures: snapshots live in the top-level snapshots/ folder.

Shared helpers (fixed data, the demo host, waiting) live in tests/ui/pilot.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot

SNAPSHOTS = Path(__file__).resolve().parents[2] / "snapshots"


class TopLevelSVGExtension(pytest_textual_snapshot.SVGImageExtension):
    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(SNAPSHOTS / test_location.basename)


@pytest.fixture(autouse=True)
def _snapshots_at_top_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", TopLevelSVGExtension)
