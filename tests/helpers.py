"""Helpers shared by tests outside tests/ui (which has its own: tests/ui/pilot.py)."""

from __future__ import annotations

# Code points that must never reach a terminal raw (the classes of tests/unit/test_text.py).
FORBIDDEN_RANGES = [(0x00, 0x1F), (0x7F, 0x9F), (0x202A, 0x202E), (0x2066, 0x2069),
                    (0x200B, 0x200F), (0x2060, 0x2060), (0xFEFF, 0xFEFF),
                    (0x061C, 0x061C), (0xD800, 0xDFFF), (0x2028, 0x2029)]


def forbidden(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in FORBIDDEN_RANGES)
