"""create_vm on the demo host (libvirt's in-process test driver): no lab needed. What
the UI's new-guest dialog will call, end to end through the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tuivirt.config import Config, demo_host
from tuivirt.create.vm import InvalidSpec, KernelBoot, VMSpec
from tuivirt.session import Fleet


@pytest.fixture()
def demo(state_home: Path) -> Iterator[Fleet]:
    fleet = Fleet(Config(hosts=(demo_host(),)))
    assert fleet.connect() == {}
    yield fleet
    fleet.close()


def names(fleet: Fleet) -> list[str]:
    return sorted(g.name for g in fleet.session("demo").libvirt[0].list_guests())


def test_a_vm_is_defined_and_started_and_a_second_of_that_name_refused(demo: Fleet) -> None:
    session = demo.session("demo")
    spec = VMSpec(host="demo", name="fresh", memory_mib=64,
                  kernel=KernelBoot("/boot/vmlinuz", None, "quiet"))
    created = session.create_vm(spec, start=True)
    assert created.guest is not None and created.started
    assert created.guest.state.value == "running"
    assert "fresh" in [g.name for g in demo.inventory.guests("demo")]  # the table sees it
    assert "<cmdline>quiet console=ttyS0</cmdline>" in created.xml
    # The demo host's files cannot be looked at: said, not refused.
    assert any("not checked" in note for note in created.notes)
    with pytest.raises(InvalidSpec, match="a VM named 'fresh' already exists on demo"):
        session.create_vm(spec)


def test_print_only_defines_nothing(demo: Fleet) -> None:
    before = names(demo)
    created = demo.session("demo").create_vm(
        VMSpec(host="demo", name="draft", kernel=KernelBoot("/k")), print_only=True)
    assert created.guest is None and "<name>draft</name>" in created.xml
    assert names(demo) == before


def test_what_the_host_offers_is_read_once_per_connection(demo: Fleet) -> None:
    session = demo.session("demo")
    first = session.vm_options()
    assert session.vm_options() is first
    session.connect()  # a reconnect: asked again
    again = session.vm_options()
    assert again is not first and again == first


def test_the_new_vm_forms_offer_is_remembered_but_not_past_a_pool_change(demo: Fleet) -> None:
    """`n` warms what the form offers; a pool this session stops is not offered after."""
    session = demo.session("demo")
    offer = session.vm_offer(max_age=30)
    assert "default" in offer.pools and offer.options.archs
    assert session.vm_offer(max_age=30) is offer  # from memory: no round trip
    session.pool_action("default", "stop")
    try:
        assert "default" not in session.vm_offer(max_age=30).pools
    finally:
        session.pool_action("default", "start")
    assert "default" in session.vm_offer(max_age=30).pools


def test_a_remembered_offer_is_given_without_a_daemon_call_and_only_while_fresh(
        demo: Fleet) -> None:
    session = demo.session("demo")
    assert session.remembered_offer(30) is None  # nothing read yet
    offer = session.vm_offer()
    assert session.remembered_offer(30) is offer
    assert session.remembered_offer(-1) is None  # older than asked for
    session.pool_action("default", "stop")
    try:
        assert session.remembered_offer(30) is None  # a pool changed: read again
    finally:
        session.pool_action("default", "start")
