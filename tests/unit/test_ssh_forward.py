"""One SSH forward per remote socket, even when two endpoints ask for it at once."""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from tuivirt.backends.ssh import SSHTunnel
from tuivirt.config import HostConfig


class _SlowConnection:
    """Stands in for asyncssh's connection: a forward takes a while to listen."""

    def __init__(self) -> None:
        self.forwards = 0

    async def forward_local_path(self, local: str, _remote: str) -> Any:
        self.forwards += 1
        await asyncio.sleep(0.05)
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(local)
        return listener


def test_two_endpoints_forwarding_one_socket_at_once_share_one_forward(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A host with qemu:///system and lxc:///system opens both at once over its one SSH
    # link; both want /run/libvirt/libvirt-sock. The second used to unlink the socket
    # the first had just made (its libvirt connection: "No such file or directory").
    short = tempfile.mkdtemp(prefix="tv", dir="/tmp")  # a socket path has 108 bytes
    monkeypatch.setenv("XDG_RUNTIME_DIR", short)
    tunnel = SSHTunnel(HostConfig(name="rack2", ssh="root@rack2", libvirt=(
        "qemu:///system", "lxc:///system")))
    fake = _SlowConnection()
    tunnel._conn = fake
    found: list[str] = []
    errors: list[BaseException] = []

    def forward() -> None:
        try:
            found.append(tunnel.forward("/run/libvirt/libvirt-sock", "libvirt"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=forward) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert len(set(found)) == 1 and Path(found[0]).is_socket()
    assert fake.forwards == 1
    for listener in tunnel._listeners:
        listener.close()
    shutil.rmtree(short)
