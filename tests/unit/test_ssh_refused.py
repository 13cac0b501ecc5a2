"""A host whose sshd refuses the connection (nothing listens) is tried again once or
twice, not until the command's deadline: `tuivirt list` with one such host took 4 s.
A handshake dropped under load (sshd's MaxStartups: "connection lost") still retries
until the deadline; that is what lets 100 hosts behind one sshd come up."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tuivirt.backends.ssh import SSHTunnel
from tuivirt.config import HostConfig, parse_ssh
from tuivirt.errors import HostError


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when this returns


def test_a_refusing_host_fails_fast_within_a_long_deadline(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    host = HostConfig(name="down", libvirt=("qemu:///system",),
                      ssh=parse_ssh(f"root@127.0.0.1:{closed_port()}"),
                      ssh_known_hosts=str(known))
    tunnel = SSHTunnel(host, timeout=5)
    began = time.monotonic()
    with pytest.raises(HostError) as info:
        tunnel.connect(deadline=time.monotonic() + 10)
    took = time.monotonic() - began
    assert "refused" in info.value.message.lower(), info.value.message
    assert "tried" in info.value.message  # it did try again
    assert took < 2.0, took
