"""The images view's rows (one per tag of an image; a dangling image is one `<none>` row)
and its filter, which reads as the guest table's does: `host:` `tag:` `id:` `used:` words,
plain words (regexes) over the tag, the id and the containers using it, `!` negates."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tuivirt.model import Image
from tuivirt.ui.table.filter import FilterError

FIELDS = ("host", "tag", "id", "used")
NONE = "<none>"


@dataclass(frozen=True, slots=True)
class ImageRow:
    image: Image
    tag: str | None  # repository:tag; None for a dangling image

    @property
    def host(self) -> str:
        return self.image.host

    @property
    def key(self) -> str:
        return f"{self.image.host}/{self.image.id}/{self.tag or NONE}"

    @property
    def reference(self) -> str:
        """What names this row to the daemon: its tag, or the image's id when dangling."""
        return self.tag or self.image.id

    @property
    def shown(self) -> str:
        """What a user calls this row: its tag, or `<none>` and the short id."""
        return self.tag or f"{NONE} {self.image.short_id}"

    def field(self, name: str) -> str:
        if name == "host":
            return self.image.host
        if name == "tag":
            return self.tag or NONE
        if name == "id":
            return self.image.id.removeprefix("sha256:")
        return "\n".join(self.image.used_by)

    def haystack(self) -> str:
        return "\n".join((self.field("tag"), self.field("id"), self.field("used")))


def rows_of(images: list[Image]) -> list[ImageRow]:
    """Sorted by host, then as the session lists them (tagged by name, dangling last)."""
    rows: list[ImageRow] = []
    for image in sorted(images, key=lambda i: (i.host, i.dangling, i.name)):
        rows.extend(ImageRow(image, tag) for tag in (image.tags or (None,)))
    return rows


@dataclass(frozen=True, slots=True)
class ImageFilter:
    text: str
    terms: tuple[tuple[str | None, re.Pattern[str], bool], ...]  # field, pattern, negate

    @classmethod
    def parse(cls, text: str) -> ImageFilter:
        terms = []
        for word in text.split():
            negate = word.startswith("!")
            word = word.removeprefix("!")
            field: str | None = None
            if ":" in word and word.split(":", 1)[0] in FIELDS:
                field, word = word.split(":", 1)
            if not word:
                raise FilterError(f"{'!' if negate else ''}{field or ''}: needs a value "
                                  "after the colon")
            try:
                pattern = re.compile(word, re.IGNORECASE | re.MULTILINE)
            except re.error as exc:
                raise FilterError(f"{word!r} is not a valid regex: {exc}") from None
            terms.append((field, pattern, negate))
        return cls(text, tuple(terms))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, row: ImageRow) -> bool:
        for field, pattern, negate in self.terms:
            hay = row.haystack() if field is None else row.field(field)
            if (pattern.search(hay) is None) is not negate:
                return False
        return True
