"""A host whose daemon stops answering (SIGSTOP) turns stale in the full-screen view
before any deadline says so: its rows dimmed, the host panel says since when; fresh
again once it answers (SIGCONT)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import Lab
from tests.faults import Faults
from tests.ui.pilot import until
from tuivirt.config import parse_config
from tuivirt.model import Guest
from tuivirt.session.core import STALE_AFTER, STATS_EVERY
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.table.host_panel import HostPanel

pytestmark = pytest.mark.lab
#: Long enough that the deadline does not mark the endpoint down during the test: the
#: staleness alone must tell.
TIMEOUT = 90


async def test_a_stopped_libvirtd_turns_its_host_stale_then_fresh(
        lab: Lab, faults: Faults, state_home: Path) -> None:
    app = TuivirtApp(parse_config(f"timeout = {TIMEOUT}\n" + lab.config_text(), "lab.toml"))
    async with app.run_test(size=(150, 40)) as pilot:
        table = app.main.table
        panel = app.main.query_one(HostPanel)

        def rows(host: str, name: str) -> list[Guest]:
            return [g for g in table.guests.values() if g.host == host and g.name == name]

        assert await until(pilot, lambda: bool(rows("hostb", "tinyb")) and bool(
            rows("local", "tiny")), 60), "the lab's guests never showed"
        assert await until(pilot, lambda: not table._stale(rows("hostb", "tinyb")[0]), 30)
        faults.stop("hostb", "libvirtd")
        stopped = time.monotonic()
        try:
            bound = STALE_AFTER + STATS_EVERY + 5
            assert await until(pilot, lambda: table._stale(rows("hostb", "tinyb")[0]),
                               bound), "hostb's hung libvirtd still showed confirmed rows"
            noticed = time.monotonic() - stopped
            line = next(x for x in panel.lines() if x.name == "hostb")
            assert line.state == "stale" and line.since.startswith("silent ")
            assert line.dim and "qemu:///system" in line.note
            assert panel.lines()[0].name == "hostb"  # the unreachable first
            assert "1 stale" in panel.text().splitlines()[0]
            assert not table._stale(rows("local", "tiny")[0])  # the other host: fresh
            assert app.fleet.session("hostb").endpoint_status["qemu:///system"] == "ok"
        finally:
            faults.cont("hostb", "libvirtd")
        resumed = time.monotonic()
        assert await until(pilot, lambda: not table._stale(rows("hostb", "tinyb")[0]), 30), \
            "hostb answered again but its rows stayed stale"
        back = time.monotonic() - resumed
        line = next(x for x in panel.lines() if x.name == "hostb")
        assert line.state == "connected"
    print(f"SIGSTOP hostb libvirtd: stale after {noticed:.1f} s (bound {STALE_AFTER:g} s, "
          f"timeout {TIMEOUT} s); fresh {back:.1f} s after SIGCONT")
