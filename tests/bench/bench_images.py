"""Benchmark: the images view (`I`) with 500 image rows over the lab's two hosts.

Target (issue 14): images view with 500 images over two hosts on screen <= 0.5 s after
the key. The lab's base image is tagged 250 times on each host (`tvbench-img-N`: cheap,
and every tag is a row of the view, as `docker images` lists it); the tags are removed
afterwards, even when the run fails. Measured in-process (headless): `I` pressed -> the
table holds every row (both hosts listed, one over SSH) and the screen has been drawn.
Side by side with the storage view (`P`) showing as many volumes (the test driver: no
daemon), so the ratio says what listing two Docker daemons costs over a local list.
Run: python tests/bench/bench_images.py [--per-host N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.bench_storage import key_to_volumes, make_node
from tests.bench.common import report, side_by_side
from tests.conftest import Lab, _lab_env
from tuivirt.config import parse_config
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.images.rows import rows_of
from tuivirt.ui.images.screen import ImagesScreen

PREFIX = "tvbench-img-"
HOSTS = ("local", "hostb")


def client(lab: Lab, host: str) -> Any:
    import docker

    url = lab.hostb_docker if host == "hostb" else "unix:///var/run/docker.sock"
    return docker.APIClient(base_url=url, timeout=60)


def tag_many(lab: Lab, count: int) -> None:
    for host in HOSTS:
        api = client(lab, host)
        for n in range(count):
            api.tag("tiny:latest", f"{PREFIX}{n:04d}", "latest")


def untag_all(lab: Lab) -> int:
    """Every tvbench-img- tag on both hosts removed (the image itself stays: tiny)."""
    removed = 0
    for host in HOSTS:
        api = client(lab, host)
        for summary in api.images():
            for tag in summary.get("RepoTags") or ():
                if tag.startswith(PREFIX):
                    api.remove_image(tag)
                    removed += 1
    return removed


async def key_to_images(lab: Lab) -> float:
    app = TuivirtApp(parse_config(lab.config_text(), "lab.toml"))
    async with app.run_test(size=(140, 40)) as pilot:
        while {g.host for g in app.main.table.guests.values()} < set(HOSTS):
            await pilot.pause(0.05)
        sessions = [app.fleet.session(h) for h in HOSTS]
        while not all(s.docker is not None for s in sessions):
            await pilot.pause(0.05)
        expected = 0
        for session in sessions:  # what the view will show, asked before the key
            expected += len(rows_of(await asyncio.to_thread(session.images)))
        start = time.perf_counter()
        await pilot.press("I")
        while not (isinstance(app.screen, ImagesScreen)
                   and app.screen.table().row_count == expected):
            await asyncio.sleep(0.002)
        await pilot.pause()  # drawn
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-host", type=int, default=250)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    facts = _lab_env()
    if not facts:
        print("bench_images: the lab is not up (run tests/lab/up)")
        return 1
    lab = Lab(facts)
    rows = 2 * args.per_host
    try:
        untag_all(lab)  # a run killed before its cleanup
        began = time.perf_counter()
        tag_many(lab, args.per_host)
        print(f"   tagged {rows} images in {time.perf_counter() - began:.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            node = make_node(Path(tmp) / "node.xml", rows)
            samples = side_by_side(
                args.runs,
                ImagesScreen=lambda: asyncio.run(key_to_images(lab)),
                StorageScreen=lambda: asyncio.run(key_to_volumes(node, rows)))
    finally:
        print(f"   removed {untag_all(lab)} {PREFIX}* tags")
    report(f"images view: I -> {rows} image rows on screen (lab: local + hostb over SSH), "
           f"beside the storage view with {rows} volumes (test driver)", samples)
    median = statistics.median(samples["ImagesScreen"])
    ratio = median / statistics.median(samples["StorageScreen"])
    verdict = "ok" if median <= 0.5 else "OVER TARGET"
    print(f"   median {median:.3f} s, {ratio:.2f}x the storage view with as many rows "
          f"(target <= 0.5 s: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
