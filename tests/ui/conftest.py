"""UI test helpers: snapshots live in the top-level snapshots/ folder; fixed data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot

from tuivirt.config import Config, HostConfig
from tuivirt.inventory import Diff, HostStatus
from tuivirt.model import Guest, GuestState, HostState
from tuivirt.ui.app import InventoryChanged, TuivirtApp

SNAPSHOTS = Path(__file__).resolve().parents[2] / "snapshots"
NOW = 1_790_000_000.0


class TopLevelSVGExtension(pytest_textual_snapshot.SVGImageExtension):
    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(SNAPSHOTS / test_location.basename)


@pytest.fixture(autouse=True)
def _snapshots_at_top_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", TopLevelSVGExtension)


def fixed_config(theme: str = "tuivirt-dark") -> Config:
    return Config(hosts=(
        HostConfig(name="local", libvirt=("qemu:///system", "lxc:///system"),
                   docker="unix:///var/run/docker.sock"),
        HostConfig(name="prod", libvirt=("qemu+ssh://root@prod/system",), read_only=True,
                   label="red"),
        HostConfig(name="rack2", libvirt=("qemu:///system",), label="#5fafff"),
    ), theme=theme)


def fixed_guests() -> list[Guest]:
    rows = [
        ("local", "kvm", "web-frontend", GuestState.RUNNING, 2, 2048, True, None),
        ("local", "kvm", "db-primary", GuestState.RUNNING, 4, 8192, True, None),
        ("local", "qemu", "build-runner", GuestState.SHUTOFF, 2, 4096, False, None),
        ("local", "lxc", "dns", GuestState.RUNNING, 1, 256, True, None),
        ("local", "docker", "nginx", GuestState.RUNNING, None, None, True, "nginx:1.27"),
        ("local", "docker", "redis", GuestState.PAUSED, 0.5, 512, False, "redis:7"),
        ("local", "docker", "migrate-once", GuestState.SHUTOFF, None, None, False, "app:2"),
        ("prod", "kvm", "payments", GuestState.RUNNING, 8, 16384, True, None),
        ("prod", "kvm", "ledger", GuestState.CRASHED, 4, 8192, True, None),
        ("rack2", "kvm", "win2022-ad", GuestState.SHUTOFF, 2, 4096, False, None),
        ("rack2", "kvm", "k8s-node-1", GuestState.RUNNING, 4, 8192, True, None),
        ("rack2", "kvm", "k8s-node-2", GuestState.STOPPING, 4, 8192, True, None),
    ]
    guests = []
    for i, (host, kind, name, state, vcpus, mem, auto, image) in enumerate(rows):
        guests.append(Guest(
            host=host, kind=kind, name=name, id=f"00000000-0000-4000-8000-{i:012d}",
            state=state, vcpus=vcpus, memory_mib=mem, autostart=auto, image=image,
            endpoint="unix:///var/run/docker.sock" if kind == "docker" else "qemu:///system",
            started_at=NOW - 3600 * (i + 1) if kind == "docker" else None,
            cpu_percent=float(i * 7 % 100) if kind != "docker" else None))
    return guests


def fixed_hosts(lost: bool = False) -> tuple[HostStatus, ...]:
    return (
        HostStatus("local", HostState.CONNECTED, "", since=NOW - 300),
        HostStatus("prod", HostState.CONNECTED, "", since=NOW - 7200),
        HostStatus("rack2", HostState.LOST if lost else HostState.CONNECTED,
                   "keepalive timed out (host not answering)" if lost else "",
                   since=NOW - 42),
    )


def fixed_app(theme: str = "tuivirt-dark", lost: bool = False) -> TuivirtApp:
    config = fixed_config(theme)
    app = TuivirtApp(config, start_sessions=False, clock=lambda: NOW)
    app._fixed_diff = Diff(added=tuple(fixed_guests()), hosts=fixed_hosts(lost))  # type: ignore[attr-defined]
    return app


async def feed(pilot: Any) -> None:
    """run_before for snapshots: post the fixed data, let it render."""
    app = pilot.app
    app.post_message(InventoryChanged(app._fixed_diff))
    for _ in range(50):
        await pilot.pause()
        if app.main.table.guests:
            break
    # A snapshot of an empty table would pass for ever once accepted: refuse it.
    assert app.main.table.guests, "the fixed rows never reached the table"
    await pilot.pause()
