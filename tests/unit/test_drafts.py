"""Drafts: an edit survives a crash, byte for byte, and a broken draft is never lost."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuivirt import drafts, xmltools
from tuivirt.drafts import LEGACY, Draft


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
    # no temp files left
    assert [p.name for p in path.parent.iterdir()] == [f"{drafts.INSTANCE}.json"]
    assert json.loads(path.read_text())["text"] == "second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (state_home, state_home / "local", state_home / "local" / "domain",
                   path.parent):
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
    (kept,) = path.parent.glob(f"{path.name}.corrupt-*")
    assert kept.read_bytes() == content
    drafts.save(Draft("local", "domain", "web", "fresh", "y"))  # does not touch the copy
    assert kept.read_bytes() == content
    path.write_bytes(content)
    assert drafts.load("local", "domain", "web") is None
    assert len(list(path.parent.glob(f"{path.name}.corrupt-*"))) == 2  # no overwrite
    assert drafts.find("local", "domain", "web").drafts == []  # found the same way


def test_list_drafts_newest_first_skipping_corrupt() -> None:
    drafts.save(Draft("a", "domain", "old", "", "", saved_at=100.0))
    drafts.save(Draft("b", "network", "new", "", "", saved_at=300.0))
    broken = drafts.save(Draft("a", "domain", "broken", "", "", saved_at=400.0))
    drafts.save(Draft("a", "domain", "mid", "", "", saved_at=200.0))
    broken.write_text("{")
    assert [d.name for d in drafts.list_drafts()] == ["new", "mid", "old"]


def test_list_drafts_sees_every_instance_and_the_old_single_files() -> None:
    drafts.save(Draft("a", "domain", "web", "mine", "", saved_at=100.0))
    drafts.save(Draft("a", "domain", "web", "theirs", "", saved_at=200.0,
                      instance="4242-beef"))
    drafts.save(Draft("a", "domain", "web", "old", "", saved_at=50.0, instance=LEGACY))
    assert [d.text for d in drafts.list_drafts()] == ["theirs", "mine", "old"]


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


# -- one draft per running instance --------------------------------------------------------
SAVE_IN_A_PROCESS = """
import sys
from tuivirt import drafts
drafts.save(drafts.Draft("local", "domain", "tiny", sys.argv[1], "<domain/>"))
print(drafts.INSTANCE)
"""


def test_two_processes_editing_one_definition_keep_both_drafts() -> None:
    # Was: one file per definition; A's "AAA" was overwritten by B's "BBB", silently.
    instances = []
    for text in ("AAA", "BBB"):
        done = subprocess.run([sys.executable, "-c", SAVE_IN_A_PROCESS, text], check=True,
                              capture_output=True, text=True, env=os.environ.copy())
        instances.append(done.stdout.strip())
    assert instances[0] != instances[1]
    found = drafts.find("local", "domain", "tiny")
    assert sorted(d.text for d in found.drafts) == ["AAA", "BBB"] and not found.skipped
    assert {d.instance for d in found.drafts} == set(instances)
    assert not any(d.instance_running() for d in found.drafts)  # both processes ended
    assert drafts.load("local", "domain", "tiny", drafts.INSTANCE) is None  # not ours
    assert drafts.load("local", "domain", "tiny") == found.drafts[0]  # the newest


def test_find_lists_newest_first_and_discard_removes_only_one() -> None:
    mine = Draft("local", "domain", "web", "mine", "base", saved_at=300.0)
    theirs = Draft("local", "domain", "web", "theirs", "base", saved_at=200.0,
                   instance="1-ab")
    legacy = Draft("local", "domain", "web", "old version", "base", saved_at=100.0,
                   instance=LEGACY)
    other = Draft("local", "domain", "db", "other guest", "base")
    for draft in (mine, theirs, legacy, other):
        drafts.save(draft)
    assert drafts.find("local", "domain", "web").drafts == [mine, theirs, legacy]
    assert mine.this_process and mine.instance_running() and not theirs.this_process
    drafts.discard_draft(theirs)
    assert drafts.find("local", "domain", "web").drafts == [mine, legacy]
    drafts.discard("local", "domain", "web")  # this instance's own
    assert drafts.find("local", "domain", "web").drafts == [legacy]
    drafts.discard_draft(legacy)
    assert drafts.find("local", "domain", "web").drafts == []
    assert drafts.find("local", "domain", "db").drafts == [other]


def test_a_draft_left_by_the_previous_version_still_loads(state_home: Path) -> None:
    path = state_home / "local" / "domain" / "web.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"host": "local", "kind": "domain", "name": "web",
                                "text": "edited", "base": "orig", "saved_at": 5.0}))
    (found,) = drafts.find("local", "domain", "web").drafts
    assert (found.text, found.base, found.instance, found.pid) == ("edited", "orig",
                                                                   LEGACY, None)
    assert not found.instance_running()


def test_instance_ids_are_file_names_never_paths() -> None:
    for bad in ("../x", "1-ab/../../y", "x", "1-AB"):
        with pytest.raises(ValueError, match="instance"):
            drafts.draft_path("local", "domain", "web", bad)


# -- size: what the editor could not load is neither loaded nor written ---------------------
def test_a_huge_draft_is_skipped_at_once_and_left_in_place(state_home: Path) -> None:
    # The previous version saved a 52 MB draft of a 50 MB file; loading it froze the UI.
    path = state_home / "local" / "domain" / "web.json"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.write(b'{"host": "local", "kind": "domain", "name": "web", "text": "')
        handle.truncate(52 * 2**20)
    drafts.save(Draft("local", "domain", "web", "small", ""))
    started = time.monotonic()
    found = drafts.find("local", "domain", "web")
    assert time.monotonic() - started < 0.5
    assert [d.text for d in found.drafts] == ["small"]
    (why,) = found.skipped
    assert "52.0 MiB" in why and "1.0 MiB" in why and "4.0 MiB" in why and str(path) in why
    assert path.stat().st_size == 52 * 2**20  # kept, not renamed or deleted


def test_a_draft_whose_buffer_is_over_the_limit_is_skipped() -> None:
    big = "x" * (xmltools.EDITOR_MAX + 1)
    path = drafts.draft_path("local", "domain", "web", "7-aa")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"host": "local", "kind": "domain", "name": "web",
                                "text": big, "base": "", "saved_at": 5.0}))
    found = drafts.find("local", "domain", "web")
    assert found.drafts == [] and "over the editor's limit" in found.skipped[0]


def test_saving_a_buffer_over_the_limit_is_refused() -> None:
    big = "é" * (xmltools.EDITOR_MAX // 2 + 1)  # over in UTF-8 bytes, not in characters
    with pytest.raises(OSError, match="over the editor's limit"):
        drafts.save(Draft("local", "domain", "web", big, ""))
    assert drafts.find("local", "domain", "web").drafts == []
