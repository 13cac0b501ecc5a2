"""Sizes as a user types them (`--size 2G`) and as tables show them (`2.0 GiB`).

Units follow virsh and qemu-img: K, M, G, T, P, E and KiB, MiB... are powers of 1024;
KB, MB, GB... are powers of 1000 (what a disk's label means); a bare number is bytes.
"""

from __future__ import annotations

import re

_SIZE_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)\s*")
_POWERS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
SIZE_HELP = ("a number with an optional unit: 512M, 2G, 1.5T, 10GiB, 4GB (G = GiB = 2^30 "
             "bytes, GB = 10^9)")


class SizeError(ValueError):
    """A size that does not parse; the message says what would."""


def parse_size(text: str) -> int:
    """Bytes for "2G", "1.5 TiB", "4GB", "1048576", "512b"; SizeError otherwise."""
    from decimal import Decimal, InvalidOperation  # not on `tuivirt list`'s path

    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise SizeError(f"size {text!r} does not parse: use {SIZE_HELP}")
    number, unit = match[1], match[2].upper()
    base = 1024
    if unit.endswith("IB"):
        unit = unit[:-2]
    elif len(unit) == 2 and unit.endswith("B"):
        unit, base = unit[:-1], 1000
    elif unit in ("B", "BYTES"):
        unit = ""
    if unit not in _POWERS:
        raise SizeError(f"size {text!r}: unknown unit {match[2]!r}; use {SIZE_HELP}")
    try:
        value = Decimal(number) * base ** _POWERS[unit]
    except InvalidOperation:  # pragma: no cover: the regex admits only decimals
        raise SizeError(f"size {text!r} does not parse: use {SIZE_HELP}") from None
    if value != value.to_integral_value():
        raise SizeError(f"size {text!r} is not a whole number of bytes")
    return int(value)


def human_size(size: int | None) -> str:
    """1.5 GiB, 512 MiB, 0 B: binary units, three significant digits at most."""
    if size is None:
        return "-"
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        value /= 1024
        if value < 1024 or unit == "EiB":
            break
    text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return f"{text.removesuffix('.0')} {unit}"
