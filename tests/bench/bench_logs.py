"""Benchmark: a container's log flood into the open log pane of the full-screen view.

A real container on the lab writes ~5 MB/s of 80-byte lines for 10 s (Docker's own
json-file log, then `docker logs -f` through the SDK, the pane's reader thread, its
batches and its drawing: the whole real path) while tuivirt runs on a pseudo-terminal
of 160x45 with `l` opened on that container. Figures:
- the longest gap between frames written to the terminal during the flood (measured as
  bench_console's burst: the time between the app's writes) [target: <= 100 ms];
- the app's RSS before and at its peak, and the growth next to the bytes logged
  (bounded by the pane's ring, 10 000 lines, not by the flood);
- how far behind the pane was when the flood ended (its last line on screen).

Run: python tests/bench/bench_logs.py [--mb-per-s 5] [--seconds 10]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.bench_console import PtyProcess  # noqa: E402
from tests.bench.common import compile_tree  # noqa: E402
from tests.conftest import Lab, _lab_env  # noqa: E402

LINE = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd"  # +\n: 77 B
TICKS = 20  # writes a second


def flood_script(mb_per_s: float, seconds: int) -> str:
    line = len(LINE) + 1
    chunk = int(mb_per_s * 1_000_000 / TICKS) // line * line  # whole lines
    return (f"while [ ! -e /tmp/go ]; do sleep 0.1; done; "
            f"for i in $(seq {seconds * TICKS}); do yes {LINE} | head -c {chunk}; "
            f"sleep {1 / TICKS}; done; echo flood-$((40 + 2))-done; sleep 600")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb-per-s", type=float, default=5.0)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    facts = _lab_env()
    if not facts:
        print("bench_logs: the lab is not up (tests/lab/up)")
        return 1
    lab = Lab(facts)
    compile_tree(ROOT)
    name = f"tvbench-log-{uuid.uuid4().hex[:6]}"
    lab.docker("local", "run", "-d", "--network", "none", "--name", name, "tiny:latest",
               "sh", "-c", flood_script(args.mb_per_s, args.seconds))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "lab.toml"
        config.write_text(lab.config_text())
        term = PtyProcess([sys.executable, "-m", "tuivirt", "--config", str(config)],
                          env={"XDG_STATE_HOME": str(Path(tmp) / "state"),
                               "COLUMNS": "120", "LINES": "40"})
        try:
            term.wait_text(b"guests", 0, timeout=60)
            time.sleep(2)
            term.send(b"/")
            time.sleep(0.3)
            term.send(name.encode() + b"\r")
            time.sleep(0.5)
            since = term.mark()
            term.send(b"l")
            term.wait_text(b"following", since, timeout=30)
            time.sleep(1.0)
            rss_before = term.rss_mb()
            peaks = [rss_before]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.25):
                    peaks.append(term.rss_mb())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            since = term.mark()
            start = time.perf_counter()
            lab.docker("local", "exec", name, "sh", "-c", ": > /tmp/go")
            try:
                done = term.wait_raw(b"flood-42-done", since, timeout=args.seconds * 20 + 60)
            except RuntimeError:
                print("the last line never showed; last output:", bytes(term.output[-300:]))
                raise
            finally:
                stop.set()
                sampler.join()
            flooded = start + args.seconds  # when the writer was meant to finish
            with term.cond:
                frames = [t for t, _n in term.writes if start <= t <= done]
            gaps = [b - a for a, b in itertools.pairwise(frames)]
            logged = lab.docker("local", "inspect", "-f", "{{.LogPath}}", name).strip()
            size = Path(logged).stat().st_size if logged and Path(logged).exists() else 0
            peak = max(peaks)
            longest = max(gaps) if gaps else float("nan")
            p99 = sorted(gaps)[int(0.99 * (len(gaps) - 1))] if gaps else float("nan")
            print(f"\n== a {args.mb_per_s:g} MB/s log flood for {args.seconds} s into the "
                  "open log pane (a real container, `docker logs -f`, the pane's real path)")
            print(f"   written by the container: {args.mb_per_s * args.seconds:.0f} MB of "
                  f"{len(LINE) + 1}-byte lines (Docker's json log file: {size / 1e6:.0f} MB)")
            print(f"   frames during it: {len(frames)} ({len(frames) / (done - start):.0f}/s); "
                  f"longest gap {longest * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
                  f"[target <= 100 ms: ratio {longest / 0.1:.2f}]")
            print(f"   last line on screen {max(0.0, done - flooded):.2f} s after the "
                  "writer's planned end")
            print(f"   RSS before {rss_before:.1f} MB, peak {peak:.1f} MB: +{peak - rss_before:.1f}"
                  f" MB for {args.mb_per_s * args.seconds:.0f} MB logged (ratio "
                  f"{(peak - rss_before) / (args.mb_per_s * args.seconds):.2f}; the ring "
                  "holds 10 000 lines, ~0.8 MB of text here)")
        finally:
            term.close()
            lab.docker("local", "rm", "-f", name, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
