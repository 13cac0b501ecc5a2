"""Printing for the CLI. Human-readable output is made inert always, not only on a
terminal: `| less -R`, `| tee`, `watch` and a log tailed later reach a terminal too.
Scripts read --json (exact, JSON-escaped) or dumpxml (byte-exact), which are never
touched."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from tuivirt.text import cell_width, inert, inert_lines, pad


def say(text: str, file: TextIO | None = None) -> None:
    """A human-readable line that may hold outside text (names, daemon errors, paths)."""
    print(inert_lines(text), file=file or sys.stdout)


def warn(text: str) -> None:
    say(f"tuivirt: {text}", sys.stderr)


def print_json(data: Any, indent: int = 1) -> None:
    json.dump(data, sys.stdout, indent=indent)
    sys.stdout.write("\n")


def fmt_mem(mib: int | None) -> str:
    if mib is None:
        return "-"
    return f"{mib / 1024:.1f}G" if mib >= 10240 else f"{mib}M"


def print_table(rows: list[list[str]], out: TextIO) -> None:
    """Columns aligned by terminal cells (a CJK name takes two per character); every cell
    on one line, its control and bidi characters escaped (a TAB would break the columns,
    a right-to-left override would flip the ones after it)."""
    rows = [[inert(cell) for cell in row] for row in rows]
    widths = [max(cell_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(pad(cell, w) for cell, w in zip(row, widths, strict=True))
                  .rstrip() + "\n")
