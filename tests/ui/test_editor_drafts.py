"""Drafts of several instances, and files too big for the editor (fixed data, no daemons)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.pilot import DOMAIN_XML, REF, Notes, feed, fixed_app, until
from tuivirt import backups, drafts, xmltools
from tuivirt.drafts import LEGACY, Draft
from tuivirt.ui.common.dialogs import ChoiceScreen
from tuivirt.ui.editor.xml_editor import DRAFT_AFTER, EditorPane

BIG = 50 * 2**20


def edited(marker: str) -> str:
    return DOMAIN_XML.replace("<vcpu", f"<!-- {marker} -->\n  <vcpu", 1)


async def open_pane(pilot: Any, text: str = DOMAIN_XML) -> EditorPane:
    app = pilot.app
    await feed(pilot)
    app.main.show_editor(EditorPane(None, ref=REF, base=DOMAIN_XML, text=text))
    await pilot.pause()
    await pilot.pause()
    pane = app.main.editor
    assert pane is not None and app.focused is pane.area
    return pane


def options(screen: ChoiceScreen) -> list[str]:
    return [label for _key, label in screen.choices]


async def test_every_instances_draft_is_offered_and_only_the_chosen_one_goes(
        state_home: Path) -> None:
    # Three tuivirt instances (one from the previous version) left a draft of one guest.
    a = Draft(REF.host, REF.kind, REF.name, edited("AAA"), DOMAIN_XML, saved_at=1000.0,
              instance="999999991-aa")
    b = Draft(REF.host, REF.kind, REF.name, edited("BBB"), DOMAIN_XML, saved_at=2000.0,
              instance="999999992-bb")
    old = Draft(REF.host, REF.kind, REF.name, edited("OLD"), DOMAIN_XML, saved_at=500.0,
                instance=LEGACY)
    for draft in (a, b, old):
        drafts.save(draft)
    app = fixed_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await feed(pilot)
        app.main._offer_drafts(REF, DOMAIN_XML, drafts.find(REF.host, REF.kind, REF.name),
                               False)
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        screen = app.screen
        assert isinstance(screen, ChoiceScreen)
        labels = options(screen)
        assert "3 unapplied drafts" in screen.title_text
        # Newest first, each with its time, size and its first changed line.
        assert ["BBB" in labels[0], "AAA" in labels[1], "OLD" in labels[2]] == [True] * 3
        assert all("line 5: <!-- " in label and ("KiB" in label or "bytes" in label)
                   for label in labels[:3])
        assert "older tuivirt" in labels[2]
        await pilot.press("down", "enter")  # AAA's
        assert await until(pilot, lambda: app.main.editor is not None
                           and app.main.editor.text == a.text)
        pane = app.main.editor
        assert pane is not None
        # It goes on writing AAA's file (its tuivirt is gone): one draft, not two.
        assert pane.draft_id == a.instance
        await pilot.press("end", "X")
        assert await until(pilot, lambda: (d := drafts.load(REF.host, REF.kind, REF.name,
                                                             a.instance)) is not None
                           and d.text == pane.text, timeout=DRAFT_AFTER + 5)
        assert len(drafts.find(REF.host, REF.kind, REF.name).drafts) == 3
        # Discarding removes this buffer's draft, and nothing else.
        await pilot.press("ctrl+q")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("down", "enter")  # "Close and discard the changes"
        assert await until(pilot, lambda: app.main.editor is None)
    assert drafts.find(REF.host, REF.kind, REF.name).drafts == [b, old]


async def test_a_draft_held_elsewhere_is_copied_and_removed_when_discarded(
        state_home: Path) -> None:
    # The old version's file cannot be written on; this pane writes its own, and on
    # discard both go: the user discarded that edit.
    old = Draft(REF.host, REF.kind, REF.name, edited("OLD"), DOMAIN_XML, saved_at=500.0,
                instance=LEGACY)
    drafts.save(old)
    app = fixed_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await feed(pilot)
        app.main._offer_drafts(REF, DOMAIN_XML, drafts.find(REF.host, REF.kind, REF.name),
                               False)
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        screen = app.screen
        assert isinstance(screen, ChoiceScreen)
        assert "An unapplied draft" in screen.title_text
        await pilot.press("enter")
        assert await until(pilot, lambda: app.main.editor is not None)
        pane = app.main.editor
        assert pane is not None and pane.text == old.text and pane.draft_id != LEGACY
        await pilot.press("end", "X")
        assert await until(pilot, lambda: len(drafts.find(REF.host, REF.kind,
                                                          REF.name).drafts) == 2,
                           timeout=DRAFT_AFTER + 5)
        pane._discard_and_close()
        await pilot.pause()
    assert drafts.find(REF.host, REF.kind, REF.name).drafts == []


# -- too big for the editor ------------------------------------------------------------------
@pytest.fixture()
def editor_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """$EDITOR writes a 50 MB file (XML comments) over the buffer's file."""
    script = tmp_path / "big-editor"
    script.write_text(f"#!/bin/sh\nyes '<!-- padding -->' | head -c {BIG} > \"$1\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(script))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    yield tmp_path


async def test_a_50_mb_result_of_editor_is_refused_at_once(
        state_home: Path, editor_writes: Path) -> None:
    # Was: loaded into the buffer, the UI frozen for ~20 s at ~1 GB RSS, 2.5 s a key,
    # and a 52 MB draft written.
    app = fixed_app()
    app.suspend = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    async with app.run_test(size=(160, 45)) as pilot:
        notes = Notes(app)
        pane = await open_pane(pilot, edited("MINE"))
        before = pane.text
        started = time.monotonic()
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert time.monotonic() - started < 3  # the editor script itself: ~0.1 s
        assert pane.text == before
        (message,) = [m for m, severity in notes.items if severity == "error"]
        assert "50.0 MiB" in message and "1.0 MiB" in message and "4.0 MiB" in message
        assert "buffer is unchanged" in message
        (kept,) = editor_writes.glob("tuivirt-*.xml")  # the user's file is not deleted
        assert kept.stat().st_size == BIG and str(kept) in message
        await pilot.pause(DRAFT_AFTER + 0.5)
    found = drafts.find(REF.host, REF.kind, REF.name).drafts
    assert all(xmltools.text_size(d.text) < 2**16 for d in found)
    assert all(p.stat().st_size < 2**16 for p in (state_home / "tuivirt").rglob("*.json"))


async def test_a_huge_backup_is_listed_but_not_loaded(state_home: Path) -> None:
    path = backups.save(REF.host, REF.name, DOMAIN_XML)
    with path.open("ab") as handle:
        handle.truncate(BIG)
    app = fixed_app()
    async with app.run_test(size=(160, 45)) as pilot:
        notes = Notes(app)
        pane = await open_pane(pilot)
        started = time.monotonic()
        await pilot.press("ctrl+r")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        screen = app.screen
        assert isinstance(screen, ChoiceScreen)
        assert "not loadable" in options(screen)[0] and "50.0 MiB" in options(screen)[0]
        await pilot.press("enter")
        await pilot.pause()
        assert time.monotonic() - started < 3
        assert pane.text == DOMAIN_XML
        assert any("not loaded" in m and "50.0 MiB" in m for m, _s in notes.items)
