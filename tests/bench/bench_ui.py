"""Benchmark: the main screen on a real pseudo-terminal, side by side with a baseline commit.

Figures (issue 3 targets in brackets):
- process start -> first row on screen, 1000 test-driver domains + the lab's hosts [<= 0.6 s]
- filter keystroke -> repaint with 5000 rows, p95 [<= 30 ms] (in-process, headless)
- RSS with 5000 rows [<= 150 MB]; idle CPU with 5000 rows, nothing changing [< 1 %]

The baseline (default: the previous commit that has a UI) runs from a git worktree in the
same run, so a noisy machine hits both alike.
Run: python tests/bench/bench_ui.py [--baseline REV] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.common import make_test_node, report  # noqa: E402
from tests.conftest import Lab, _lab_env  # noqa: E402
from tests.ptyrun import PtyRun  # noqa: E402


class Terminal(PtyRun):
    """tuivirt on a pseudo-terminal of 160x45, its output read as it is written."""

    def __init__(self, tree: Path, config: Path, name: str) -> None:
        self.name = name
        self.output = bytearray()
        self.guests = 0  # the latest "N guests" the status line showed
        self.start = time.perf_counter()
        super().__init__([sys.executable, "-m", "tuivirt", "--config", str(config)],
                         cols=160, rows=45, cwd=tree, env={"COLUMNS": "160", "LINES": "45"})

    def received(self, data: bytes) -> None:
        tail = bytes(self.output[-32:]) + data
        self.output += data
        counts = re.findall(rb"(\d+) (?:of \d+ )?guests", tail)
        if counts:
            self.guests = int(counts[-1])

    def mark(self) -> int:
        with self.cond:
            return len(self.output)

    def wait_for(self, text: str, timeout: float = 30.0, since: int = 0) -> float:
        """Seconds since start until `text` is in the output written after `since`."""
        needle = text.encode()
        end = time.perf_counter() + timeout
        with self.cond:
            while needle not in self.output[since:]:
                left = end - time.perf_counter()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"{text!r} never appeared")
                self.cond.wait(left)
        return time.perf_counter() - self.start

    def send(self, data: str) -> None:  # type: ignore[override]
        super().send(data.encode())


def baseline_tree(rev: str | None, tmp: Path) -> tuple[str, Path] | None:
    """A worktree of the baseline commit (the newest earlier one that has a UI)."""
    if rev is None:
        out = subprocess.run(["git", "-C", str(ROOT), "log", "--format=%H", "HEAD~1",
                              "--", "tuivirt/ui/app.py"], capture_output=True, text=True,
                             check=False).stdout.split()
        if not out:
            return None
        rev = out[0]
    path = tmp / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev],
                   capture_output=True, check=True)
    return rev[:10], path


def config_file(tmp: Path, name: str, node: Path, with_lab: bool) -> Path:
    text = f'[[host]]\nname = "bench"\nlibvirt = ["test://{node}"]\n'
    if with_lab:
        facts = _lab_env()
        text = Lab(facts).config_text() + "\n" + text
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


async def filter_latencies(rows: int) -> list[float]:
    """Key press -> processed and repainted, headless, with `rows` guests in the table."""
    from textual.widgets import Input

    from tuivirt.config import Config, HostConfig
    from tuivirt.inventory import Diff
    from tuivirt.model import Guest, GuestState
    from tuivirt.ui.app import TuivirtApp
    try:
        from tuivirt.ui.messages import InventoryChanged
    except ImportError:  # a baseline tree from before ui/messages.py
        from tuivirt.ui.app import InventoryChanged  # type: ignore[attr-defined,no-redef]

    hosts = tuple(HostConfig(name=f"h{i}", libvirt=("test:///default",)) for i in range(5))
    app = TuivirtApp(Config(hosts=hosts), start_sessions=False)
    states = list(GuestState)
    guests = tuple(Guest(host=f"h{i % 5}", kind="kvm" if i % 3 else "docker",
                         name=f"guest-{i:05d}", id=f"id-{i}", state=states[i % len(states)],
                         vcpus=1 + i % 8, memory_mib=512 * (1 + i % 16))
                   for i in range(rows))
    samples: list[float] = []
    async with app.run_test(size=(160, 45)) as pilot:
        app.post_message(InventoryChanged(Diff(added=guests)))
        await pilot.pause()
        await pilot.press("slash")
        app.query_one("#filter", Input).cursor_blink = False
        for text in ("guest-01", "state:run", "!kind:docker host:h3", "x"):
            for key in [*text, *["backspace"] * len(text)]:
                start = time.perf_counter()
                await pilot.press(key)
                await pilot.pause()
                samples.append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", help="git revision to compare with")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    with_lab = bool(_lab_env())
    return run(args, with_lab)


def run(args: argparse.Namespace, with_lab: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        node_small = make_test_node(tmp / "node1000.xml", 1000)
        node_big = make_test_node(tmp / "node5000.xml", args.rows)
        small = config_file(tmp, "small", node_small, with_lab)
        big = config_file(tmp, "big", node_big, with_lab)
        subjects: dict[str, Path] = {"current": ROOT}
        base = baseline_tree(args.baseline, tmp)
        if base is not None:
            subjects[f"baseline {base[0]}"] = base[1]
        # An installed tuivirt has its bytecode compiled (pip does it); a tree run with
        # PYTHONDONTWRITEBYTECODE set would recompile every module on every start.
        for tree in subjects.values():
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "tuivirt")],
                           check=False, capture_output=True)
        try:
            startup: dict[str, list[float]] = {name: [] for name in subjects}
            broken: dict[str, str] = {}
            for run in range(args.runs):
                for name, tree in subjects.items():
                    if name in broken:
                        continue
                    term = Terminal(tree, small, f"bench{run}{abs(hash(name)) % 1000}")
                    try:
                        startup[name].append(term.wait_for("vm00000"))
                    except RuntimeError as exc:
                        # A baseline that cannot run here (say it predates a layout
                        # change) is reported, not allowed to sink the whole benchmark.
                        broken[name] = f"{exc}; its last output: " + bytes(
                            term.output[-300:]).decode("utf-8", "replace")
                    finally:
                        term.close()
            for name, why in broken.items():
                print(f"   {name}: could not be measured: {why!r}")
                startup.pop(name, None)
                subjects.pop(name, None)
            lab_note = " + the lab's hosts" if with_lab else ""
            report(f"process start -> first row on screen, 1000 domains{lab_note} "
                   "[target median <= 0.6 s]", startup)
            latency: dict[str, list[float]] = {}
            print(f"\n== {args.rows} rows: memory and idle CPU (10 s, nothing changing)")
            for name, tree in subjects.items():
                term = Terminal(tree, big, f"benchbig{abs(hash(name)) % 1000}")
                try:
                    end = time.perf_counter() + 120
                    while term.guests < args.rows and time.perf_counter() < end:
                        time.sleep(0.05)
                    if term.guests < args.rows:
                        raise RuntimeError(f"{args.rows} guests never appeared "
                                           f"(last seen: {term.guests})")
                    time.sleep(3)
                    before = term.cpu_seconds()
                    time.sleep(10)
                    idle = (term.cpu_seconds() - before) / 10 * 100
                    print(f"   {name:<22} RSS {term.rss_mb():6.1f} MB [<= 150]   "
                          f"idle CPU {idle:5.2f} % of a core [< 1]")
                    keys = typing_latencies(term, ["guest", "vm0012", "!state:running"])
                    latency[name] = keys
                finally:
                    term.close()
        finally:
            if base is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(base[1])], capture_output=True, check=False)
    print(f"\n== filter keystroke -> the status line shows it on the terminal, "
          f"{args.rows} rows")
    for name, values in latency.items():
        ordered = sorted(values)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"   {name:<22} median {statistics.median(values) * 1000:6.1f} ms   "
              f"p95 {p95 * 1000:6.1f} ms   max {ordered[-1] * 1000:6.1f} ms  "
              f"({len(values)} keys) [target p95 <= 30 ms]")
    samples = asyncio.run(filter_latencies(args.rows))
    print(f"   headless pilot, press+pause (pilot's own pacing included): median "
          f"{statistics.median(samples) * 1000:.1f} ms")
    return 0


def typing_latencies(term: Terminal, words: list[str]) -> list[float]:
    """Type filters a key at a time; time each key until the status line shows it."""
    samples = []
    term.send("/")
    time.sleep(0.3)
    for word in words:
        typed = ""
        for char in word:
            typed += char
            since = term.mark()
            start = time.perf_counter()
            term.send(char)
            try:
                term.wait_for(f"filter: {typed}", 5, since)
            except RuntimeError:
                continue  # an intermediate text that is no valid filter: nothing to time
            samples.append(time.perf_counter() - start)
            time.sleep(0.05)
        term.send("\x7f" * len(word))
        time.sleep(0.3)
    return samples


if __name__ == "__main__":
    raise SystemExit(main())
