"""The cipher tuivirt asks hostb's real sshd for: AES-GCM unless the user's ssh_config
names its own Ciphers (then exactly those)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.conftest import Lab
from tuivirt.backends.ssh import SSHTunnel
from tuivirt.config import parse_config

pytestmark = pytest.mark.lab


def _negotiated(lab: Lab, tmp_path: Path, ssh_config: str | None) -> tuple[str, str]:
    config = parse_config(lab.config_text(), str(tmp_path / "c.toml"))
    host = next(h for h in config.hosts if h.name == "hostb")
    if ssh_config is not None:  # as a host from [[hosts_from]] ssh_config has it
        path = tmp_path / "ssh_config"
        path.write_text(ssh_config)
        host = dataclasses.replace(host, ssh_config=str(path))
    tunnel = SSHTunnel(host, timeout=10)
    tunnel.connect()
    try:
        conn = tunnel._conn
        return conn.get_extra_info("send_cipher"), conn.get_extra_info("recv_cipher")
    finally:
        tunnel.close()


def test_aes_gcm_is_asked_for_first(lab: Lab, tmp_path: Path) -> None:
    assert _negotiated(lab, tmp_path, None) == ("aes128-gcm@openssh.com",) * 2


def test_the_ssh_configs_ciphers_win(lab: Lab, tmp_path: Path) -> None:
    config = f"Host {lab.hostb_addr}\n    Ciphers chacha20-poly1305@openssh.com\n"
    assert _negotiated(lab, tmp_path, config) == ("chacha20-poly1305@openssh.com",) * 2
