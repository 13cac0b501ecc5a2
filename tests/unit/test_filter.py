"""The table filter's words: field:value, plain text or regex, ! negates, bad regex."""

from __future__ import annotations

import pytest

from tuivirt.model import Guest, GuestState
from tuivirt.ui.table.filter import FilterError, GuestFilter

GUESTS = [
    Guest(host="local", kind="kvm", name="web-1", id="u1", state=GuestState.RUNNING),
    Guest(host="local", kind="docker", name="redis", id="c" * 64, state=GuestState.PAUSED,
          image="redis:7"),
    Guest(host="rack2", kind="lxc", name="dns", id="u3", state=GuestState.SHUTOFF),
]


def names(text: str) -> list[str]:
    flt = GuestFilter.parse(text)
    return [g.name for g in GUESTS if flt.matches(g)]


@pytest.mark.parametrize(("text", "expected"), [
    ("", ["web-1", "redis", "dns"]),
    ("host:local", ["web-1", "redis"]),
    ("state:running", ["web-1"]),
    ("!state:running", ["redis", "dns"]),
    ("kind:docker", ["redis"]),
    ("kind:libvirt", ["web-1", "dns"]),
    ("!kind:libvirt", ["redis"]),
    ("web", ["web-1"]),
    ("^d|^r", ["redis", "dns"]),
    ("redis:7", ["redis"]),  # matches the image, "redis" is no field name
    ("host:local !web", ["redis"]),
    ("WEB", ["web-1"]),
])
def test_filter_words(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize("text", ["web(", "state:[", "host:"])
def test_bad_filters_say_why(text: str) -> None:
    with pytest.raises(FilterError):
        GuestFilter.parse(text)
