"""Pure functions on libvirt XML text for the definition editor and the CLI: parsing and
well-formedness, sizes, diff, identity.

lxml and difflib are imported inside the functions: `import tuivirt.xmltools` stays
cheap at startup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lxml import etree

Kind = Literal["domain", "network"]

NOUN: dict[str, str] = {"domain": "guest", "network": "network"}
_NO_NEWLINE = "\\ No newline at end of file\n"


# libvirt carries a definition as one XDR string of at most REMOTE_STRING_MAX = 4 MiB
# (remote_protocol.x). Measured on libvirt 9.0 here: 4,194,238 bytes reach the daemon,
# 4,194,398 are refused by the client with "Unable to encode message payload".
LIBVIRT_XML_MAX = 4 * 2**20
# What the editor loads, a quarter of that. Real definitions are a few KiB (hundreds of
# devices: ~100 KiB). Textual's TextArea took 0.7 s to open 1 MiB and 0.2 s a keystroke;
# 2.6 s and 0.6 s at 4 MiB; a 50 MB file froze it for 20 s at 1 GB RSS, 2.5 s a key.
EDITOR_MAX = 2**20


def human_size(size: int) -> str:
    if size < 2**10:
        return f"{size} bytes"
    if size < 2**20:
        return f"{size / 2**10:.0f} KiB"
    return f"{size / 2**20:.1f} MiB"


def text_size(text: str) -> int:
    """Bytes the text takes as UTF-8 (what libvirt's limit counts)."""
    return len(text.encode("utf-8", "surrogatepass"))


def size_problem(size: int, what: str, limit: int = EDITOR_MAX, *,
                 more: bool = False) -> str | None:
    """Why `size` bytes are refused (by the editor's limit or libvirt's), or None.
    `more`: the size is only known to be over the limit (a stream read that far)."""
    if size <= limit:
        return None
    is_size = f"is more than {human_size(limit)}" if more else f"is {human_size(size)}"
    if limit >= LIBVIRT_XML_MAX:
        return (f"{what} {is_size}: libvirt refuses a definition over "
                f"{human_size(LIBVIRT_XML_MAX)} (its message size limit)")
    return (f"{what} {is_size}, over the editor's limit of "
            f"{human_size(limit)} (libvirt itself refuses a definition over "
            f"{human_size(LIBVIRT_XML_MAX)})")


def first_change(old: str, new: str) -> tuple[int, str] | None:
    """The first line of `new` that differs from `old`: (1-based number, its text);
    None when equal. A deletion gives the line now at that place ("" past the end)."""
    old_lines, new_lines = old.split("\n"), new.split("\n")
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), 1):
        if a != b:
            return number, b
    if len(old_lines) == len(new_lines):
        return None
    number = min(len(old_lines), len(new_lines)) + 1
    return number, new_lines[number - 1] if number <= len(new_lines) else ""


def unified_diff(old: str, new: str, old_label: str, new_label: str,
                 context: int = 3) -> str:
    """A unified diff of the two texts' lines; "" when they are equal.

    Lines are split on "\\n" only (not on the form feeds and other separators
    str.splitlines knows), and a last line without a newline gets git's
    "\\ No newline at end of file" marker, so a diff never glues two lines together
    and a change to the final newline alone is still visible.
    """
    if old == new:
        return ""
    import difflib

    out: list[str] = []
    for line in difflib.unified_diff(_lines(old), _lines(new), old_label, new_label,
                                     n=context, lineterm="\n"):
        out.append(line if line.endswith("\n") else line + "\n" + _NO_NEWLINE)
    return "".join(out)


def _lines(text: str) -> list[str]:
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]  # the part after the last "\n" has none
    if not lines[-1]:
        lines.pop()
    return lines


def changed_lines(old: str, new: str) -> int:
    """How many lines a diff from `old` to `new` removes or adds (for a summary)."""
    return sum(1 for line in unified_diff(old, new, "a", "b").splitlines()[2:]
               if line[:1] in "+-")


def identity_problem(original: str, edited: str, kind: Kind) -> str | None:
    """Why saving `edited` would not redefine the object `original` describes, or None.

    Never raises: text that does not parse gives None (well-formedness is reported
    elsewhere, with a line and column). Name and uuid are read the way libvirt reads
    them (the string value of the first <name>/<uuid>, uuid dashes and case ignored).
    """
    edited_root = parse_or_none(edited)
    if edited_root is None:
        return None
    noun = NOUN[kind]
    if edited_root.tag != kind:
        return (f"expected a <{kind}> definition but the root element is "
                f"<{edited_root.tag}>: this editor can only redefine the {noun} it opened")
    original_root = parse_or_none(original)
    if original_root is None:
        return None
    old_name = string_value(original_root, "name")
    new_name = string_value(edited_root, "name")
    if old_name and not new_name:
        return (f"the <name> is missing: libvirt needs it to know which {noun} to "
                f"redefine; put back <name>{old_name}</name>")
    if old_name and new_name != old_name:
        return (f"the name changed from '{old_name}' to '{new_name}': libvirt would see "
                f"a different {noun}; put the name back, or use clone to copy it under "
                "a new name")
    old_uuid = string_value(original_root, "uuid")
    new_uuid = string_value(edited_root, "uuid")
    if old_uuid and not new_uuid:
        return (f"the <uuid> was removed: libvirt would treat the definition as another "
                f"{noun}; put back <uuid>{old_uuid.strip()}</uuid>")
    if old_uuid and _uuid_key(new_uuid) != _uuid_key(old_uuid):
        return (f"the uuid changed from {old_uuid.strip()} to {new_uuid.strip()}: libvirt "
                f"would treat it as another {noun}; put the uuid back")
    return None


def _uuid_key(value: str) -> str:
    return value.strip().replace("-", "").lower()


def string_value(root: etree._Element, child: str) -> str:
    """XPath string value of the first such child, as libvirt reads it (comments skipped)."""
    value = root.xpath(f"string({child}[1])")
    return value if isinstance(value, str) else ""


# -- parsing --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class XMLProblem:
    """Where an XML text is not well-formed; line and column are 1-based."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


def parse(text: str | bytes) -> etree._Element:
    """The root element; lxml's error when the text is not well-formed.

    The one parser tuivirt reads XML with: no entity is resolved, nothing is fetched.
    surrogatepass: a buffer can hold lone surrogates (a paste of bad bytes); encoded so,
    lxml reports them as invalid UTF-8 at their place instead of us crashing.
    """
    from lxml import etree

    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def parse_or_none(text: str) -> etree._Element | None:
    try:
        return parse(text)
    except Exception:  # not well-formed, odd encodings: not our call
        return None


def check_well_formed(text: str | bytes) -> XMLProblem | None:
    """None when the text parses as XML, else where and why it does not."""
    from lxml import etree

    try:
        parse(text)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (1, 1)
        message = re.sub(r",\s*line \d+, column \d+\s*(\(.*\))?$", "", str(exc.msg or exc))
        return XMLProblem(line=max(1, line), column=max(1, column), message=message)
    except ValueError as exc:  # e.g. an encoding declaration lxml refuses in a str
        return XMLProblem(line=1, column=1, message=str(exc))
    return None
