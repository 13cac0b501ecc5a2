"""A host's ssh_config is parsed once, not at every reconnect: asyncssh parses the whole
file for each host (3.4 ms for the lab's 147-line fleet config; 120 hosts reconnecting
after a cut link paid 0.4 s of the GIL). An edited file is read again at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from asyncssh.config import SSHClientConfig

from tuivirt.backends import ssh


@pytest.fixture()
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    load = SSHClientConfig.load.__func__  # type: ignore[attr-defined]

    def counted(cls: type, *args: object) -> object:
        seen.append(str(args[-2]))  # the host asked for
        return load(cls, *args)

    monkeypatch.setattr(SSHClientConfig, "load", classmethod(counted))
    monkeypatch.setattr(ssh, "_aliases", {}, raising=False)
    return seen


def test_a_hosts_answer_is_reused_until_the_file_changes_or_ages(
        tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host kvm-*\n    User ops\nHost kvm-001\n    HostName 10.77.0.2\n")
    first = ssh.resolve_alias([str(config)], "kvm-001")
    assert first["Hostname"] == "10.77.0.2" and first["User"] == "ops"
    for _ in range(5):
        assert ssh.resolve_alias([str(config)], "kvm-001") == first
    ssh.resolve_alias([str(config)], "kvm-002")  # another host: its own answer
    assert parses == ["kvm-001", "kvm-002"]

    config.write_text("Host kvm-001\n    HostName 10.77.0.3\n")  # edited
    os.utime(config, ns=(1, 1))  # even within the same clock tick
    assert ssh.resolve_alias([str(config)], "kvm-001")["Hostname"] == "10.77.0.3"
    assert parses[-1] == "kvm-001" and len(parses) == 3

    # Past its lifetime an answer is made again (an Include'd file may have changed).
    monkeypatch.setattr(ssh, "ALIAS_REUSE_FOR", 0.0, raising=False)
    ssh.resolve_alias([str(config)], "kvm-001")
    assert len(parses) == 4


def test_a_caller_changing_its_answer_changes_nothing_kept(
        tmp_path: Path, parses: list[str]) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host a\n    HostName 10.77.0.2\n")
    ssh.resolve_alias([str(config)], "a")["Hostname"] = "10.0.0.66"
    assert ssh.resolve_alias([str(config)], "a")["Hostname"] == "10.77.0.2"


def test_a_broken_file_is_an_error_every_time(tmp_path: Path, parses: list[str]) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host a\n    Port notanumber\n")
    for _ in range(2):
        with pytest.raises(Exception):  # noqa: B017 - asyncssh's ConfigParseError
            ssh.resolve_alias([str(config)], "a")
