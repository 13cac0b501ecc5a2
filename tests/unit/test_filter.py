"""The table filter's words: field:value, plain text or regex, ! negates, bad regex."""

from __future__ import annotations

import pytest

from tuivirt.model import Guest, GuestState
from tuivirt.ui.table.filter import FilterError, GuestFilter, haystack

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


# -- tag: the host's tags (config, inventories), matched whole ----------------------------
TAGS = {"local": ("rack1", "prod"), "rack2": ("rack10",)}


@pytest.mark.parametrize(("text", "expected"), [
    ("tag:prod", ["web-1", "redis"]),
    ("tag:rack1", ["web-1", "redis"]),  # whole tags: rack10 is not rack1
    ("tag:rack.*", ["web-1", "redis", "dns"]),
    ("!tag:prod", ["dns"]),
    ("tag:PROD state:running", ["web-1"]),
    ("tag:nowhere", []),
])
def test_tag_words_match_the_hosts_tags(text: str, expected: list[str]) -> None:
    flt = GuestFilter.parse(text)
    assert [g.name for g in GUESTS if flt.matches(g, tags=TAGS)] == expected
    # The table's fast path (select) agrees with matches.
    by_key = {g.key: g for g in GUESTS}
    hay = {g.key: haystack(g) for g in GUESTS}
    assert [by_key[k].name for k in flt.select(list(by_key), by_key, hay, TAGS)] == expected


def test_a_host_without_tags_matches_no_tag() -> None:
    flt = GuestFilter.parse("tag:prod")
    assert not flt.matches(GUESTS[2], tags={})
    assert GuestFilter.parse("!tag:prod").matches(GUESTS[2])
