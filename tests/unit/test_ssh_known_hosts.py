"""Which known_hosts line records a host's key: plain, hashed, ported, patterned, revoked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import asyncssh

from tuivirt.backends.ssh import OfferedKey, describe_host_key_refusal, recorded_lines

KEY = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
NEW = OfferedKey("rack2.example", "10.0.0.12", 22, "ssh-ed25519", "SHA256:newnewnew")


def _hashed(name: str) -> str:
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_lines_are_found_however_they_are_written(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("\n".join([
        "# comment",
        f"other.example {KEY}",
        "garbage line that is no entry",
        f"{_hashed('rack2.example')} {KEY}",            # 4: hashed name
        f"{_hashed('10.0.0.12')} {KEY}",                # 5: hashed address
        f"[rack2.example]:2222 {KEY}",                  # 6: another port
        f"*.example,!other.example {KEY}",              # 7: a pattern
        f"@revoked 10.0.0.12 {KEY}",                    # 8
        f"rack2.example,10.0.0.12 {KEY}",               # 9: plain
    ]) + "\n")
    assert recorded_lines(str(known), "rack2.example", "10.0.0.12", 22) == [
        (4, ""), (5, ""), (7, ""), (8, "revoked"), (9, "")]
    assert recorded_lines(str(known), "rack2.example", "10.0.0.12", 2222) == [(6, "")]
    assert recorded_lines(str(known), "new.example", "10.9.9.9", 22) == [(7, "")]
    assert recorded_lines(str(tmp_path / "missing"), "rack2.example", "10.0.0.12", 22) == []


def test_changed_unknown_and_revoked_say_different_things(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"other.example {KEY}\n{_hashed('rack2.example')} {KEY}\n")
    changed = describe_host_key_refusal("root@rack2.example", "Host key is not trusted",
                                        str(known), NEW)
    assert "HOST KEY CHANGED" in changed and f"{known}:2" in changed
    assert "man-in-the-middle" in changed and "SHA256:newnewnew" in changed
    assert "add it" not in changed and "connecting once" not in changed

    known.write_text(f"other.example {KEY}\n")
    unknown = describe_host_key_refusal("root@rack2.example", "Host key is not trusted",
                                        str(known), NEW)
    assert f"host key not verified: the host is not in {known} (it presents" in unknown
    assert "CHANGED" not in unknown and f"add it to {known}" in unknown

    known.write_text(f"@revoked rack2.example {KEY}\n")
    revoked = describe_host_key_refusal("root@rack2.example", "Host key is revoked",
                                        str(known), None)
    assert "REVOKED" in revoked and "add it" not in revoked
