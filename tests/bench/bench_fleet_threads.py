"""Benchmark: where the full-screen view's idle CPU goes, by thread, over N SSH hosts.

The app runs headless (Textual's run_test) in this process over N [[host]] entries to
hostb (lab up); after `--settle` s, each thread's CPU over `--seconds` s is read from
/proc/self/task/*/schedstat and summed by thread name (upkeep-*, session-*, tuivirt-ssh...; a
thread that came and went inside the window counts as the rest), beside
the health diffs and inventory diffs that reached the app in that window.
Run: python tests/bench/bench_fleet_threads.py [--ssh-hosts 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.bench_fleet_ui import ssh_config  # noqa: E402
from tests.conftest import Lab, _lab_env  # noqa: E402
from tuivirt.config import load_config  # noqa: E402
from tuivirt.ui.app import TuivirtApp  # noqa: E402


def cpu(tid: int) -> float:
    """A thread's CPU time, from schedstat (nanoseconds). /proc's stat counts whole clock
    ticks (10 ms) per thread: summed over 300 threads that each ran a few milliseconds,
    a window's figure was off by most of a percent."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as stat:
            return int(stat.read().split()[0]) / 1e9
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


async def measure(config: Path, settle: float, seconds: float) -> None:
    app = TuivirtApp(load_config(config))
    async with app.run_test(size=(160, 45)):
        await asyncio.sleep(settle)
        diffs: collections.Counter[str] = collections.Counter()
        app.fleet.inventory.subscribe(lambda diff: diffs.update(
            {"diffs": 1, "host statuses": len(diff.hosts),
             "guests changed": len(diff.added) + len(diff.changed) + len(diff.removed)}))
        threads = {int(t): "native" for t in os.listdir("/proc/self/task")}
        threads.update({t.native_id or 0: t.name for t in threading.enumerate()})
        before = {tid: cpu(tid) for tid in threads}
        started = time.process_time()
        await asyncio.sleep(seconds)
        total = (time.process_time() - started) / seconds * 100
        use: collections.Counter[str] = collections.Counter()
        for tid, name in threads.items():
            base = name if name in ("native", "MainThread", "tuivirt-ssh", "fleet-health",
                                    "libvirt-events") else name.split("-")[0] + "-*"
            use[base] += (cpu(tid) - before[tid]) / seconds * 100
        # threads started and ended inside the window (a deadline's call-*) are gone
        use["threads that came and went"] = total - sum(use.values())
        print(f"idle CPU {total:.2f} % of a core   threads {len(threads)}   "
              f"guests {len(app.main.table.guests)}   {dict(diffs)}")
        for name, pct in use.most_common(12):
            print(f"  {name:30} {pct:5.2f} %")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ssh-hosts", type=int, default=100)
    parser.add_argument("--settle", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    facts = _lab_env()
    if not facts:
        print("the lab is not up")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        config = ssh_config(Path(tmp), Lab(facts), args.ssh_hosts)
        asyncio.run(measure(config, args.settle, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
