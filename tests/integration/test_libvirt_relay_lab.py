"""libvirtd's socket forwarded over a real SSH tunnel to hostb: libvirtd's keepalive is
declined, so an idle connection carries nothing, and the connection still works."""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.conftest import Lab
from tuivirt.backends import libvirt_relay
from tuivirt.backends.libvirt.loop import ensure_event_loop
from tuivirt.backends.ssh import SSHTunnel
from tuivirt.config import parse_config
from tuivirt.session.endpoints import REMOTE_LIBVIRT_SOCKET

pytestmark = pytest.mark.lab

IDLE = 11.5  # libvirtd pings a connection silent for 5 s (keepalive_interval)


def test_an_idle_tunnelled_connection_is_not_pinged(lab: Lab, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(lab.config_text(), str(tmp_path / "c.toml"))
    tunnel = SSHTunnel(next(h for h in config.hosts if h.name == "hostb"), timeout=10)
    tunnel.connect()
    ensure_event_loop()  # the client asks about keepalive only with an event loop
    received: collections.Counter[int] = collections.Counter()  # bytes, by connection
    lock = threading.Lock()
    counted = libvirt_relay._Daemon.data_received

    def counting(self: Any, data: bytes, datatype: Any = None) -> None:
        with lock:
            received[id(self.client)] += len(data)
        counted(self, data, datatype)

    conns: list[Any] = []
    try:
        uri = f"qemu+unix:///system?socket={tunnel.forward(REMOTE_LIBVIRT_SOCKET, 'libvirt')}"
        # The control: a connection whose question the relay does not recognise, as if
        # it passed libvirt through untouched. The daemon must ping that one.
        with monkeypatch.context() as patch:
            patch.setattr(libvirt_relay, "FEATURE_PROGRAM_KEEPALIVE", -1)
            conns.append(libvirt.open(uri))
        conns.append(libvirt.open(uri))
        for conn in conns:  # as the session's watch does
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                        lambda *_a: None, None)
        monkeypatch.setattr(libvirt_relay._Daemon, "data_received", counting)
        time.sleep(IDLE)
        with lock:
            by_connection = sorted(received.values())
        # The control got libvirtd's 28-byte pings; ours got nothing at all.
        assert len(by_connection) == 1 and by_connection[0] >= 2 * 28, received
        # ...and still works: a call, and its answer, after the silence.
        names = {dom.name() for dom in conns[1].listAllDomains()}
        assert names == set(lab.virsh("hostb", "list", "--all", "--name").split())
        assert names
        # The client knows the daemon will not ping (1: "not supported by the server"),
        # where the control's daemon said it would (0).
        assert (conns[0].setKeepAlive(-1, 0), conns[1].setKeepAlive(-1, 0)) == (0, 1)
    finally:
        for conn in conns:
            conn.close()
        tunnel.close()
