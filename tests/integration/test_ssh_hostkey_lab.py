"""Host keys against the lab's real sshd on hostb: an unknown key is a question, a
changed key is an alarm, and nothing in ~/.ssh/config turns the check off."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import asyncssh
import pytest

from tests.conftest import Lab, run_cli

pytestmark = pytest.mark.lab


def _other_key() -> str:
    """A fresh ed25519 public key: what an impostor (or a reinstalled hostb) presents."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    return key.export_public_key().decode().strip()


def _hashed(host: str) -> str:
    salt = os.urandom(20)
    digest = hmac.new(salt, host.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def _real_fingerprint(lab: Lab) -> str:
    line = Path(lab.known_hosts).read_text().split("\n")[0]
    return str(asyncssh.import_public_key(line.split(None, 1)[1]).get_fingerprint("sha256"))


@pytest.mark.parametrize("hashed", [False, True], ids=["plain", "hashed"])
def test_changed_host_key_is_an_alarm_naming_the_line(lab: Lab, tmp_path: Path,
                                                      state_home: Path, hashed: bool) -> None:
    known = tmp_path / "known_hosts"
    name = _hashed(lab.hostb_addr) if hashed else lab.hostb_addr
    known.write_text("# hosts we trust\n"
                     f"other.example {_other_key()}\n"
                     f"{name} {_other_key()}\n")
    config = tmp_path / "c.toml"
    config.write_text(lab.config_text(known_hosts=str(known)))
    proc = run_cli("list", config=config)
    assert proc.returncode == 1
    err = proc.stderr
    assert f"host hostb: ssh root@{lab.hostb_addr}: HOST KEY CHANGED" in err, err
    assert "man-in-the-middle" in err
    assert f"{known}:3" in err  # the line that holds the old key
    assert _real_fingerprint(lab) in err  # what the host presents now
    # No advice to just accept the new key.
    assert "add it" not in err and "connecting once" not in err


def test_unknown_host_key_says_which_file_and_fingerprint(lab: Lab, tmp_path: Path,
                                                          state_home: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"other.example {_other_key()}\n")
    config = tmp_path / "c.toml"
    config.write_text(lab.config_text(known_hosts=str(known)))
    proc = run_cli("list", config=config)
    assert proc.returncode == 1
    err = proc.stderr
    assert f"ssh root@{lab.hostb_addr}: host key not verified: the host is not in {known}" \
        in err, err
    assert _real_fingerprint(lab) in err
    assert "CHANGED" not in err and "man-in-the-middle" not in err


@pytest.mark.parametrize("ssh_config", [
    "Host *\n  StrictHostKeyChecking no\n",
    "Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile none\n",
    "Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n",
], ids=["strict-no", "strict-no-known-hosts-none", "strict-no-dev-null"])
def test_ssh_config_cannot_turn_host_key_checking_off(lab: Lab, tmp_path: Path,
                                                      state_home: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      ssh_config: str) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "config").write_text(ssh_config)
    monkeypatch.setenv("HOME", str(home))  # never the real ~/.ssh
    text = "\n".join(line for line in lab.config_text().splitlines()
                     if not line.startswith("ssh_known_hosts"))
    config = tmp_path / "c.toml"
    config.write_text(text)
    proc = run_cli("list", config=config)
    assert proc.returncode == 1, proc.stderr
    assert (f"ssh root@{lab.hostb_addr}: host key not verified: the host is not in "
            f"{home}/.ssh/known_hosts (no such file)") in proc.stderr, proc.stderr
