"""Drafts: an edit survives a crash, byte for byte, and a broken draft is never lost."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuivirt import drafts
from tuivirt.drafts import Draft


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path / "tuivirt" / "drafts"


def test_round_trip_keeps_any_text() -> None:
    text = "<domain>\n  <title>Grüße ✓ 日本 \U0001f600</title>\udcff\ud800\x00\r\n</domain>"
    draft = Draft("rack2", "domain", "web", text, "<domain/>", saved_at=1700000000.5)
    drafts.save(draft)
    assert drafts.load("rack2", "domain", "web") == draft


def test_absent_draft_is_none_and_discard_removes_it() -> None:
    assert drafts.load("local", "network", "default") is None
    drafts.discard("local", "network", "default")  # nothing there: no error
    drafts.save(Draft("local", "network", "default", "x", "y"))
    assert drafts.load("local", "network", "default") is not None
    drafts.discard("local", "network", "default")
    assert drafts.load("local", "network", "default") is None


def test_save_replaces_atomically_and_privately(state_home: Path) -> None:
    path = drafts.save(Draft("local", "domain", "web", "first", "base"))
    drafts.save(Draft("local", "domain", "web", "second", "base"))
    assert [p.name for p in path.parent.iterdir()] == ["web.json"]  # no temp files left
    assert json.loads(path.read_text())["text"] == "second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (state_home, state_home / "local", state_home / "local" / "domain"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_names_that_are_not_file_names_stay_apart(state_home: Path) -> None:
    for name in ("a b", "a_b", "..", "../x", ".hidden", "a" * 300):
        drafts.save(Draft("h/../..", "domain", name, f"text of {name}", ""))
    for name in ("a b", "a_b", "..", "../x", ".hidden", "a" * 300):
        loaded = drafts.load("h/../..", "domain", name)
        assert loaded is not None and loaded.text == f"text of {name}"
    assert all(state_home in p.parents for p in state_home.rglob("*"))
    assert len(list(state_home.rglob("*.json"))) == 6


@pytest.mark.parametrize("content", [
    b"{not json", b"\xff\xfe", b"[]", b'{"host": "local"}',
    b'{"host": "local", "kind": "domain", "name": "web", "text": 1, "base": "",'
    b' "saved_at": 1}',
    b'{"host": "local", "kind": "domain", "name": "other", "text": "", "base": "",'
    b' "saved_at": 1}',
])
def test_corrupt_draft_is_none_and_kept_aside(content: bytes) -> None:
    path = drafts.save(Draft("local", "domain", "web", "x", "y"))
    path.write_bytes(content)
    assert drafts.load("local", "domain", "web") is None
    assert not path.exists()
    (kept,) = path.parent.glob("web.json.corrupt-*")
    assert kept.read_bytes() == content
    drafts.save(Draft("local", "domain", "web", "fresh", "y"))  # does not touch the copy
    assert kept.read_bytes() == content
    path.write_bytes(content)
    assert drafts.load("local", "domain", "web") is None
    assert len(list(path.parent.glob("web.json.corrupt-*"))) == 2  # no overwrite


def test_list_drafts_newest_first_skipping_corrupt() -> None:
    drafts.save(Draft("a", "domain", "old", "", "", saved_at=100.0))
    drafts.save(Draft("b", "network", "new", "", "", saved_at=300.0))
    broken = drafts.save(Draft("a", "domain", "broken", "", "", saved_at=400.0))
    drafts.save(Draft("a", "domain", "mid", "", "", saved_at=200.0))
    broken.write_text("{")
    assert [d.name for d in drafts.list_drafts()] == ["new", "mid", "old"]


def test_list_drafts_without_any() -> None:
    assert drafts.list_drafts() == []


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="domain or a network"):
        drafts.load("local", "volume", "x")  # type: ignore[arg-type]


FROM_BYTES = st.binary().map(lambda b: b.decode("utf-8", "surrogateescape"))
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=())
ANY_TEXT = st.one_of(st.text(), st.text(st.one_of(st.characters(), SURROGATES)), FROM_BYTES)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(text=ANY_TEXT, name=st.text(min_size=1, max_size=40))
def test_any_text_round_trips(text: str, name: str) -> None:
    draft = Draft("local", "domain", name, text, text[::-1])
    drafts.save(draft)
    assert drafts.load("local", "domain", name) == draft
