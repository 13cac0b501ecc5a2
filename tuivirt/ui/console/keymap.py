"""Keys to bytes: what a VT220/xterm-like terminal sends the guest for each key."""

from __future__ import annotations

from textual import events

DECCKM = 1 << 5  # pyte keeps private modes shifted left by 5: cursor keys mode

#: Textual key name -> bytes for a VT220/xterm-like guest (cursor keys: normal mode).
KEYS: dict[str, bytes] = {
    "enter": b"\r", "tab": b"\t", "shift+tab": b"\x1b[Z", "backspace": b"\x7f",
    "escape": b"\x1b", "delete": b"\x1b[3~", "insert": b"\x1b[2~",
    "home": b"\x1b[H", "end": b"\x1b[F", "pageup": b"\x1b[5~", "pagedown": b"\x1b[6~",
    "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D",
    "f1": b"\x1bOP", "f2": b"\x1bOQ", "f3": b"\x1bOR", "f4": b"\x1bOS",
    "f5": b"\x1b[15~", "f6": b"\x1b[17~", "f7": b"\x1b[18~", "f8": b"\x1b[19~",
    "f9": b"\x1b[20~", "f10": b"\x1b[21~", "f11": b"\x1b[23~", "f12": b"\x1b[24~",
    "ctrl+space": b"\x00", "ctrl+at": b"\x00", "ctrl+backslash": b"\x1c",
    "ctrl+circumflex_accent": b"\x1e", "ctrl+underscore": b"\x1f",
    "ctrl+left_square_bracket": b"\x1b",
}
_APP_CURSOR = {"up": b"\x1bOA", "down": b"\x1bOB", "right": b"\x1bOC", "left": b"\x1bOD"}
LEAVE_KEY = "ctrl+right_square_bracket"


def key_bytes(event: events.Key, app_cursor: bool = False) -> bytes | None:
    """The bytes a terminal would send for this key, or None for keys we do not send."""
    key = event.key
    if app_cursor and key in _APP_CURSOR:
        return _APP_CURSOR[key]
    if key in KEYS:
        return KEYS[key]
    if key.startswith("ctrl+") and len(key) == 6 and key[5].isalpha():
        return bytes([ord(key[5].lower()) - 96])
    if key.startswith("alt+"):
        inner = key[4:]
        if len(inner) == 1:
            return b"\x1b" + inner.encode()
        if inner in KEYS:
            return b"\x1b" + KEYS[inner]
    if event.character and event.is_printable:
        return event.character.encode("utf-8", "surrogatepass")
    return None
