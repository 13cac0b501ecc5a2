"""The table filter: `host:` `state:` `kind:` words, plain text or regex, `!` negates."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tuivirt.model import DOCKER, Guest

FIELDS = ("host", "state", "kind", "name", "image")


class FilterError(ValueError):
    """The filter text cannot be used; the message says which word and why."""


@dataclass(frozen=True, slots=True)
class Term:
    field: str | None  # None: name, image or id
    pattern: re.Pattern[str]
    negate: bool

    def matches(self, guest: Guest) -> bool:
        if self.field is None:
            hay = (guest.name, guest.image or "", guest.id)
            found = any(self.pattern.search(h) for h in hay)
        elif self.field == "kind" and self.pattern.pattern.lower() == "libvirt":
            found = guest.kind != DOCKER
        else:
            value = getattr(guest, self.field)
            found = bool(self.pattern.search(str(value) if value is not None else ""))
        return found != self.negate


@dataclass(frozen=True, slots=True)
class GuestFilter:
    text: str
    terms: tuple[Term, ...]

    @classmethod
    def parse(cls, text: str) -> GuestFilter:
        terms = []
        for word in text.split():
            negate = word.startswith("!")
            if negate:
                word = word[1:]
            field: str | None = None
            if ":" in word and word.split(":", 1)[0] in FIELDS:
                field, word = word.split(":", 1)
            if not word:
                raise FilterError(f"{'!' if negate else ''}{field or ''}: needs a value "
                                  f"after the colon")
            try:
                pattern = re.compile(word, re.IGNORECASE)
            except re.error as exc:
                raise FilterError(f"{word!r} is not a valid regex: {exc}") from None
            terms.append(Term(field, pattern, negate))
        return cls(text=text, terms=tuple(terms))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, guest: Guest) -> bool:
        return all(term.matches(guest) for term in self.terms)

    def predicate(self) -> Callable[[Guest], bool]:
        return self.matches
