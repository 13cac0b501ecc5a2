"""Backups are private: the whole backups/ tree, not just the last folder, is 0700."""

from __future__ import annotations

import stat
from pathlib import Path

from tuivirt import backups


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_whole_backups_tree_is_private(state_home: Path) -> None:
    path = backups.save("rack2", "web", "<domain/>")
    root = state_home / "tuivirt" / "backups"
    assert path.parent.parent.parent == root
    for folder in (root, root / "rack2", root / "rack2" / "web"):
        assert _mode(folder) == 0o700, f"{folder} is {oct(_mode(folder))}"
    assert _mode(path) == 0o600
    net = backups.save("rack2", "default", "<network/>", kind="network")
    assert _mode(net.parent) == 0o700


def test_folders_an_older_version_left_open_are_tightened(state_home: Path) -> None:
    root = state_home / "tuivirt" / "backups"
    old = root / "rack2" / "web"
    old.mkdir(parents=True)
    for folder in (root, root / "rack2", old):
        folder.chmod(0o755)
    backups.save("rack2", "web", "<domain/>")
    for folder in (root, root / "rack2", old):
        assert _mode(folder) == 0o700, f"{folder} is {oct(_mode(folder))}"
