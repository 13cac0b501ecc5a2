"""Helpers for the benchmarks: side-by-side timing, medians, a printed table."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def compile_tree(tree: Path) -> None:
    """Compile a source tree's bytecode first, as an install does (pip compiles): with
    PYTHONDONTWRITEBYTECODE set, every benchmarked start would recompile every module."""
    import sys

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "tuivirt")],
                   check=False, capture_output=True)


def make_test_node(path: Path, count: int) -> Path:
    """A libvirt test-driver node with `count` domains, a third of them shut off."""
    parts = ["<node>"]
    for i in range(count):
        state = 5 if i % 3 == 0 else 1
        parts.append(
            "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
            f"<name>vm{i:05d}</name><memory unit='MiB'>{128 + i % 8 * 64}</memory>"
            f"<vcpu>{1 + i % 4}</vcpu><os><type arch='x86_64'>hvm</type></os>"
            f"<test:runstate>{state}</test:runstate></domain>")
    parts.append("</node>")
    path.write_text("\n".join(parts))
    return path


def time_command(cmd: Sequence[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr}")
    return elapsed


def side_by_side(runs: int, **subjects: Callable[[], float]) -> dict[str, list[float]]:
    """Alternate the subjects run by run, so a noisy machine hits them all alike."""
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(runs):
        for name, fn in subjects.items():
            samples[name].append(fn())
    return samples


def report(title: str, samples: dict[str, list[float]], unit: str = "s") -> None:
    print(f"\n== {title}")
    print(f"   {'subject':<34} {'median':>9} {'p90':>9} {'min':>9}  (n)")
    for name, values in samples.items():
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        print(f"   {name:<34} {statistics.median(values):9.3f} {p90:9.3f} "
              f"{ordered[0]:9.3f}  ({len(values)}) {unit}")
