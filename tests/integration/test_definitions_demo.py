"""Definitions on the demo host (libvirt's in-process test driver): no lab needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuivirt import backups
from tuivirt.config import Config, demo_host
from tuivirt.errors import GuestError
from tuivirt.model import DefinitionRef
from tuivirt.session import Fleet


@pytest.fixture()
def demo(state_home: Path) -> Fleet:
    fleet = Fleet(Config(hosts=(demo_host(),)))
    assert not fleet.connect()
    return fleet


def _ref(fleet: Fleet) -> DefinitionRef:
    guest = next(g for g in fleet.inventory.guests("demo") if g.kind == "test")
    return DefinitionRef("demo", "domain", guest.name, guest.endpoint, guest.id)


def test_a_define_libvirt_refuses_keeps_no_backup(demo: Fleet) -> None:
    session = demo.session("demo")
    ref = _ref(demo)
    current = session.definition(ref)
    refused = current.replace("</domain>", "<nosuchelement/></domain>")
    with pytest.raises(GuestError):
        session.apply_definition(ref, current, refused)
    # Nothing was written: a backup would only repeat what the host still has.
    assert backups.history("demo", ref.name, "domain") == []
    # An accepted define keeps one.
    accepted = current.replace("</domain>", "<description>edited</description></domain>")
    applied = session.apply_definition(ref, current, accepted)
    assert applied.backup is not None
    assert len(backups.history("demo", ref.name, "domain")) == 1


def test_restore_of_a_backup_goes_through_the_session(demo: Fleet) -> None:
    session = demo.session("demo")
    ref = _ref(demo)
    original = session.definition(ref)
    edited = original.replace("</domain>", "<description>edited</description></domain>")
    applied = session.apply_definition(ref, original, edited)
    now, current = session.restore_target(ref)
    assert now.uuid == ref.uuid and "edited" in current
    assert applied.backup is not None
    restored = session.restore(now, current, Path(applied.backup).read_text())
    assert "edited" not in restored.xml
    # Someone changed it in between: nothing is written, and the user is told.
    with pytest.raises(GuestError, match="changed while you were deciding"):
        session.restore(now, current, original)
