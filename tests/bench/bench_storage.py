"""Benchmark: the storage view (`P`) on a test-driver pool of 1000 volumes.

Target (issue 13): pool and volume lists of 1000 volumes on screen <= 0.5 s after the key.
Measured in-process (headless): `P` pressed -> the volume table holds every volume and
the screen has been drawn. One guest in ten uses a volume, so "used by" is worked out too.
Run: python tests/bench/bench_storage.py [--volumes N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.common import report
from tuivirt.config import Config, HostConfig
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.storage.screen import StorageScreen


def make_node(path: Path, volumes: int) -> Path:
    vols = "".join(
        f"<volume type='file'><name>vol-{i:05d}.qcow2</name>"
        f"<capacity unit='MiB'>{64 + i}</capacity><allocation unit='MiB'>1</allocation>"
        "<target><format type='qcow2'/></target></volume>" for i in range(volumes))
    guests = "".join(
        f"<domain type='test'><name>g{i}</name><memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'>"
        f"<source file='/pool/vol-{i:05d}.qcow2'/><target dev='vda'/></disk></devices>"
        "</domain>" for i in range(0, volumes, 10))
    path.write_text(f"<node>{guests}<pool type='dir'><name>big</name>"
                    "<uuid>6d3c0f3a-0000-4000-8000-300000000000</uuid>"
                    f"<target><path>/pool</path></target>{vols}</pool></node>")
    return path


async def key_to_volumes(node: Path, volumes: int) -> float:
    app = TuivirtApp(Config(hosts=(HostConfig(name="bench", libvirt=(f"test://{node}",)),)))
    async with app.run_test(size=(140, 40)) as pilot:
        while len(app.main.table.guests) < (volumes + 9) // 10:
            await pilot.pause(0.05)
        start = time.perf_counter()
        await pilot.press("P")
        while not (isinstance(app.screen, StorageScreen)
                   and app.screen.volume_table().row_count == volumes):
            await asyncio.sleep(0.002)
        await pilot.pause()  # drawn
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volumes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        node = make_node(Path(tmp) / "node.xml", args.volumes)
        samples = [asyncio.run(key_to_volumes(node, args.volumes)) for _ in range(args.runs)]
    report(f"storage view: P -> {args.volumes} volumes on screen (test driver)",
           {"StorageScreen": samples})
    median = statistics.median(samples)
    verdict = "ok" if median <= 0.5 else "OVER TARGET"
    print(f"   median {median:.3f} s (target <= 0.5 s: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
