"""The inventory's diffs and address resolution (our own logic, on plain records)."""

from __future__ import annotations

import pytest

from tuivirt.errors import AddressError
from tuivirt.inventory import Address, Diff, Inventory
from tuivirt.model import Guest, GuestState, HostState


def guest(host: str, name: str, kind: str = "qemu", state: GuestState = GuestState.RUNNING,
          gid: str | None = None, endpoint: str = "qemu:///system") -> Guest:
    return Guest(host=host, kind=kind, name=name, id=gid or f"{host}-{kind}-{name}",
                 state=state, endpoint=endpoint if kind != "docker" else "unix:///d.sock")


@pytest.fixture()
def inv() -> tuple[Inventory, list[Diff]]:
    inventory = Inventory()
    seen: list[Diff] = []
    inventory.subscribe(seen.append)
    return inventory, seen


def test_listing_publishes_added_changed_removed(inv: tuple[Inventory, list[Diff]]) -> None:
    inventory, seen = inv
    inventory.replace_endpoint("a", "qemu:///system", [guest("a", "web"), guest("a", "db")])
    assert {g.name for g in seen[-1].added} == {"web", "db"}
    inventory.replace_endpoint("a", "qemu:///system",
                               [guest("a", "web", state=GuestState.SHUTOFF)])
    assert [g.name for g in seen[-1].changed] == ["web"]
    assert seen[-1].removed == ("a/qemu:db",)
    # Another endpoint's listing never removes this one's guests.
    inventory.replace_endpoint("a", "lxc:///system", [guest("a", "ct", kind="lxc",
                                                            endpoint="lxc:///system")])
    assert {g.name for g in inventory.guests("a")} == {"web", "ct"}


def test_unchanged_upsert_publishes_nothing(inv: tuple[Inventory, list[Diff]]) -> None:
    inventory, seen = inv
    inventory.upsert(guest("a", "web"))
    count = len(seen)
    inventory.upsert(guest("a", "web"))
    assert len(seen) == count


def test_rename_replaces_the_old_key(inv: tuple[Inventory, list[Diff]]) -> None:
    inventory, seen = inv
    inventory.upsert(guest("a", "web", gid="u1"))
    inventory.upsert(guest("a", "web2", gid="u1"))
    assert [g.name for g in inventory.guests()] == ["web2"]
    assert seen[-1].removed == ("a/qemu:web",)


def test_host_status_is_published_once(inv: tuple[Inventory, list[Diff]]) -> None:
    inventory, seen = inv
    inventory.set_host("a", HostState.LOST, "timed out")
    inventory.set_host("a", HostState.LOST, "timed out")
    assert [d.hosts[0].state for d in seen if d.hosts] == [HostState.LOST]


def test_address_forms() -> None:
    assert Address.parse("web") == Address(name="web")
    assert Address.parse("a/web") == Address(name="web", host="a")
    assert Address.parse("a/docker:web") == Address(name="web", host="a", kind="docker")
    assert Address.parse("a/foo:bar") == Address(name="foo:bar", host="a")
    for bad in ("", "/web", "a/", "a/lxc:"):
        with pytest.raises(AddressError):
            Address.parse(bad)


def test_resolution_unique_ambiguous_unknown() -> None:
    inventory = Inventory()
    inventory.replace_endpoint("a", "qemu:///system", [guest("a", "web"), guest("a", "db")])
    inventory.replace_endpoint("a", "unix:///d.sock", [guest("a", "web", kind="docker")])
    inventory.replace_endpoint("b", "qemu:///system", [guest("b", "db"), guest("b", "solo")])
    assert inventory.resolve("solo").host == "b"
    assert inventory.resolve("b/db").host == "b"
    assert inventory.resolve("a/docker:web").kind == "docker"
    with pytest.raises(AddressError) as info:
        inventory.resolve("db")
    assert info.value.candidates == ("a/db", "b/db")
    with pytest.raises(AddressError) as info:
        inventory.resolve("a/web")
    # Same name twice on one host: the candidates carry the kind qualifier.
    assert info.value.candidates == ("a/docker:web", "a/qemu:web")
    with pytest.raises(AddressError, match=r"no such guest .*not reachable: c"):
        inventory.resolve("nope", unreachable=["c"])
    with pytest.raises(AddressError, match="host c is not reachable"):
        inventory.resolve("c/x", unreachable=["c"])


def test_docker_id_prefix_resolves() -> None:
    inventory = Inventory()
    inventory.upsert(guest("a", "web", kind="docker", gid="0123456789abcdef" * 4))
    assert inventory.resolve("0123456789ab").name == "web"


def test_lookup_by_id_follows_renames_and_removals() -> None:
    inventory = Inventory()
    inventory.replace_endpoint("a", "qemu:///system", [guest("a", "web", gid="u1")])
    found = inventory.find_id("a", "u1")
    assert found is not None and found.name == "web"
    inventory.upsert(guest("a", "web2", gid="u1"))
    found = inventory.find_id("a", "u1")
    assert found is not None and found.name == "web2"
    assert inventory.find_id("b", "u1") is None
    inventory.replace_endpoint("a", "qemu:///system", [])
    assert inventory.find_id("a", "u1") is None
    inventory.upsert(guest("a", "db", gid="u2"))
    inventory.remove_id("a", "u2")
    assert inventory.guests() == []
