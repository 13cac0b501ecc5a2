"""A busy container's CPU % and memory in the table's CPU% and MEMORY columns (sampled
one-shot by the session's upkeep, as libvirt's CPU time is)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import Lab
from tests.ui.pilot import make_app, ready, until
from tuivirt.model import Guest
from tuivirt.ui.table.columns import plain_cell

pytestmark = pytest.mark.lab


@pytest.fixture()
def busy(lab: Lab) -> Iterator[str]:
    """One CPU's worth of `yes`, limited to one CPU, holding 40 MiB of tmpfs."""
    name = f"tvtest-busy-{uuid.uuid4().hex[:8]}"
    lab.docker("local", "run", "-d", "--network", "none", "--cpus", "1", "--name", name,
               "tiny:latest", "sh", "-c",
               "dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null; "
               "yes > /dev/null")
    yield name
    lab.docker("local", "rm", "-f", name, check=False)


def mib(cell: str) -> float:
    number, unit = cell.split()
    return float(number) * (1024 if unit == "GiB" else 1)


async def test_a_busy_containers_cpu_and_memory_show_in_the_table(lab: Lab, busy: str,
                                                                  state_home: object) -> None:
    app = make_app(lab)
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(pilot, busy)
        table = app.main.table

        def row() -> Guest:
            return next(g for g in table.guests.values() if g.name == busy)

        def cells() -> tuple[str, str]:
            return plain_cell(row(), "cpu", 0), plain_cell(row(), "memory", 0)

        # Two samples 5 s apart make the first CPU %.
        assert await until(pilot, lambda: cells()[0] != "-" and cells()[1] != "-", 40), cells()
        cpu, memory = cells()
        assert int(cpu) >= 50, cells()  # of its one CPU: `yes` keeps it busy
        assert 38 <= mib(memory) < 200, cells()
        assert row().vcpus == 1 and row().memory_mib is None  # no limit: usage is shown
