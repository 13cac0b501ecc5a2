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

from tuivirt.backends import libvirt_relay
from tuivirt.backends.ssh import SSHTunnel
from tuivirt.config import HostConfig


class _Forwards:
    """libvirt's forward (libvirt_relay.serve), slow to listen, counted."""

    def __init__(self) -> None:
        self.made = 0

    async def serve(self, _conn: Any, local: str, _remote: str) -> Any:
        self.made += 1
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
    forwards = _Forwards()
    monkeypatch.setattr(libvirt_relay, "serve", forwards.serve)
    tunnel._conn = object()  # connected (the forward itself is the fake above)
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
    assert forwards.made == 1
    for listener in tunnel._listeners:
        listener.close()
    shutil.rmtree(short)
