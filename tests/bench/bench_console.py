"""Benchmark: the console pane, side by side with `virsh console` on the same guest.

Figures (issue 5 targets in brackets):
- command -> interactive console (the stream open; the guest's prompt drawn), `tuivirt
  console` and `virsh console`, on the tiny QEMU guest, the LXC container and hostb's
  guest through the SSH tunnel [<= 1 s]
- keystroke round trip: a key written to the terminal -> its echo drawn, through
  `tuivirt console` vs `virsh console` on the lab's tiny QEMU guest [tuivirt <= 1.2x virsh]
- a 20 MB burst from a container's TTY through `tuivirt console`: throughput (MB/s), the
  longest gap between frames written to the terminal while it runs [<= 100 ms], and RSS
  (bounded by the scrollback, not by the burst)

Both run on real pseudo-terminals (what a user sees), the subjects alternating so a noisy
machine hits them alike. Run: python tests/bench/bench_console.py [--keys N] [--mb N]
"""

from __future__ import annotations

import argparse
import itertools
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.common import report  # noqa: E402
from tests.conftest import Lab, _lab_env  # noqa: E402
from tests.ptyrun import PtyRun  # noqa: E402

ANSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|.)")
PROMPT = b"tiny#"  # the lab guests' shell
LETTERS = "qwvyzjkb"  # echoed one at a time; ctrl+u clears the line between rounds


class PtyProcess(PtyRun):
    """A command on a pseudo-terminal of 120x40; its output collected as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.output = bytearray()
        self.writes: list[tuple[float, int]] = []  # (time, bytes) of each read
        super().__init__(argv, cols=120, rows=40, cwd=ROOT, env=env)

    def received(self, data: bytes) -> None:
        self.output += data
        self.writes.append((time.perf_counter(), len(data)))

    def mark(self) -> int:
        with self.cond:
            return len(self.output)

    def wait_text(self, needle: bytes, since: int, timeout: float = 60) -> float:
        """Time when `needle` shows in the output after `since`, escapes stripped.

        Only what arrived since the last look is scanned (with an overlap for a needle
        cut by an escape sequence): rescanning megabytes on every read made this thread
        the bottleneck, the reader fell behind, the pty filled and the app's writes
        blocked, which the burst figures then blamed on the app.
        """
        end = time.perf_counter() + timeout
        pos = since
        with self.cond:
            while True:
                size = len(self.output)
                window = bytes(self.output[max(since, pos - 512):size])
                if needle in ANSI.sub(b"", window):
                    return time.perf_counter()
                pos = size
                left = end - time.perf_counter()
                if left <= 0 or self.proc.poll() is not None:
                    tail = ANSI.sub(b"", bytes(self.output[-400:]))
                    raise RuntimeError(f"{needle!r} never showed; last output: {tail!r}")
                self.cond.wait(min(left, 0.5))

    def wait_raw(self, needle: bytes, since: int, timeout: float) -> float:
        """Like wait_text, for a needle drawn in one piece, without stripping escapes.

        For the burst: stripping escapes from megabytes of frames held the GIL for tens
        of ms at a time, and the reader thread, blocked, stamped late reads as frame gaps
        that the app never had.
        """
        end = time.perf_counter() + timeout
        pos = since
        with self.cond:
            while True:
                size = len(self.output)
                if self.output.find(needle, max(since, pos - len(needle)), size) >= 0:
                    return time.perf_counter()
                pos = size
                left = end - time.perf_counter()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"{needle!r} never showed")
                self.cond.wait(min(left, 0.5))


def tuivirt(config: Path, address: str) -> PtyProcess:
    return PtyProcess([sys.executable, "-m", "tuivirt", "--config", str(config), "console",
                       address], env={"XDG_STATE_HOME": str(config.parent / "state")})


def round_trips(term: PtyProcess, keys: int) -> list[float]:
    """Type single letters; seconds from each write to its echo on the terminal."""
    until_prompt(term, 0, 1.0, timeout=90)
    time.sleep(0.3)
    out: list[float] = []
    for i in range(keys):
        letter = LETTERS[i % len(LETTERS)].encode()
        if i % len(LETTERS) == 0 and i:
            term.send(b"\x15")  # ctrl+u: a fresh line, so each letter is new on it
            time.sleep(0.2)
        since = term.mark()
        start = time.perf_counter()
        term.send(letter)
        out.append(term.wait_text(letter, since, timeout=10) - start)
        time.sleep(0.02)
    term.send(b"\x15")
    return out


def bench_keys(lab: Lab, config: Path, keys: int, rounds: int) -> None:
    lab.virsh("local", "start", "tiny", check=False)
    samples: dict[str, list[float]] = {"tuivirt console (the pane)": [],
                                       "virsh console": []}
    for _ in range(rounds):
        virsh = PtyProcess(["virsh", "-c", "qemu:///system", "console", "--force", "tiny"])
        try:
            virsh.wait_text(b"Escape character", 0, timeout=20)
            samples["virsh console"] += round_trips(virsh, keys)
        finally:
            virsh.send(b"\x1d")
            virsh.close()
        ours = tuivirt(config, "local/tiny")
        try:
            ours.wait_text(b"connected", 0, timeout=30)
            samples["tuivirt console (the pane)"] += round_trips(ours, keys)
        finally:
            ours.send(b"\x1d")
            ours.close()
    ms = {name: [v * 1000 for v in values] for name, values in samples.items()}
    report("keystroke -> echo on the terminal, lab's tiny QEMU guest (TCG)", ms, "ms")
    ratio = statistics.median(ms["tuivirt console (the pane)"]) / statistics.median(
        ms["virsh console"])
    print(f"   tuivirt / virsh: median {ratio:.2f}x (target <= 1.2x: "
          f"{'met' if ratio <= 1.2 else 'OVER TARGET'})")


def virsh_console(lab: Lab, host: str, name: str, uri: str = "qemu:///system",
                  force: bool = False) -> PtyProcess:
    prefix = lab.hostb_prefix() if host == "hostb" else []
    return PtyProcess([*prefix, "virsh", "-c", uri, "console", *(["--force"] * force), name])


def booted(lab: Lab, host: str = "local", name: str = "tiny",
           uri: str = "qemu:///system") -> None:
    """The guest running and at its prompt, so no figure includes a boot."""
    lab.virsh(host, "start", name, uri=uri, check=False)
    # --force takes the console from a client left over; the LXC driver refuses it.
    virsh = virsh_console(lab, host, name, uri, force=uri.startswith("qemu"))
    try:
        virsh.wait_text(b"Escape character", 0, timeout=30)
        until_prompt(virsh, 0, 3.0, timeout=180)  # a boot takes a while
    finally:
        virsh.send(b"\x1d")
        virsh.close()


def until_prompt(term: PtyProcess, since: int, every: float, timeout: float = 30) -> float:
    """Press return every `every` s until the guest's prompt shows; when it did.

    A return written the moment `virsh console` says it is connected is sometimes lost
    (before its stream reads the terminal): seen one time in three on the tiny guest.
    """
    end = time.monotonic() + timeout
    while True:
        term.send(b"\r")
        try:
            return term.wait_text(PROMPT, since, timeout=every)
        except RuntimeError:
            if time.monotonic() > end or term.proc.poll() is not None:
                raise


def open_once(term: PtyProcess, start: float, ready: bytes) -> tuple[float, float]:
    """Seconds from `start` to the stream open (`ready` drawn) and to the prompt drawn.

    Both subjects get the same returns (every 0.25 s once connected): the figure is the
    transport's and the guest's, not who pressed return first.
    """
    try:
        connected = term.wait_text(ready, 0, timeout=30) - start
        return connected, until_prompt(term, 0, 0.25) - start
    finally:
        term.send(b"\x1d")
        term.close()


def bench_open(lab: Lab, config: Path, rounds: int) -> None:
    """Command -> an interactive console: the stream open, then the guest's prompt drawn.

    QEMU's pty backend looks for a reader once a second after the last one left, and
    neither reads nor writes the guest's serial port until it sees one: on QEMU guests
    the prompt waits for that poll (up to 1 s, the same for virsh); LXC has no such wait.
    """
    cases = [("local/tiny", "local", "tiny", "qemu:///system"),
             ("local/tinyct (LXC)", "local", "tinyct", "lxc:///system"),
             ("hostb/tinyb (SSH tunnel)", "hostb", "tinyb", "qemu:///system")]
    was_running = {label: lab.domstate(host, name, uri) == "running"
                   for label, host, name, uri in cases}
    for _, host, name, uri in cases:
        booted(lab, host, name, uri)
    connected: dict[str, list[float]] = {}
    prompt: dict[str, list[float]] = {}
    try:
        for _ in range(rounds):
            for label, host, name, uri in cases:
                address = f"{host}/{name}"
                ours, theirs = f"tuivirt {label}", f"virsh {label.split(' ')[0]}"
                if host == "hostb":
                    theirs = "virsh on hostb itself"
                start = time.perf_counter()
                c, p = open_once(tuivirt(config, address), start, b"connected")
                connected.setdefault(ours, []).append(c)
                prompt.setdefault(ours, []).append(p)
                start = time.perf_counter()
                c, p = open_once(virsh_console(lab, host, name, uri), start,
                                 b"Escape character")
                connected.setdefault(theirs, []).append(c)
                prompt.setdefault(theirs, []).append(p)
    finally:  # the guests this started go back down; tiny stays up for the keys
        for label, host, name, uri in cases[1:]:
            if not was_running[label]:
                lab.virsh(host, "destroy", name, uri=uri, check=False)
    report("command -> console stream open, keys reach the guest [target <= 1 s]", connected)
    report("command -> the guest's prompt on screen (QEMU: + its pty poll, up to 1 s)",
           prompt)


def bench_burst(lab: Lab, config: Path, megabytes: int) -> None:
    name = f"tvbench-{uuid.uuid4().hex[:6]}"
    lab.docker("local", "run", "-d", "-t", "-i", "--network", "none", "--name", name,
               "tiny:latest", "/bin/sh")
    term = tuivirt(config, f"local/{name}")
    try:
        term.wait_text(b"connected", 0, timeout=30)
        time.sleep(0.5)
        rss_before = term.rss_mb()
        size = megabytes * 1_000_000
        line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef"
        since = term.mark()
        start = time.perf_counter()
        term.send(f"yes {line} | head -c {size}; echo burst-$((40 + 2))-done\r".encode())
        peaks = [rss_before]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                peaks.append(term.rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            done = term.wait_raw(b"burst-42-done", since, timeout=1200)
        finally:
            stop.set()
            sampler.join()
        peak = max(peaks)
        elapsed = done - start
        with term.cond:
            frames = [t for t, _n in term.writes if start <= t <= done]
        gaps = [b - a for a, b in itertools.pairwise(frames)]
        print(f"\n== {megabytes} MB burst from a container's TTY through `tuivirt console`")
        print(f"   throughput {size / 1e6 / elapsed:.2f} MB/s ({elapsed:.1f} s; the terminal "
              "emulator (pyte) is the bound)")
        print(f"   frames written during it: {len(frames)}; longest gap "
              f"{max(gaps) * 1000 if gaps else float('nan'):.0f} ms, p99 "
              f"{sorted(gaps)[int(0.99 * (len(gaps) - 1))] * 1000 if gaps else 0:.0f} ms "
              "[target: no gap over 100 ms]")
        print(f"   RSS before {rss_before:.1f} MB, peak {peak:.1f} MB (scrollback 10 000 "
              "lines; the burst is 20x that)")
    finally:
        term.send(b"\x1d")
        term.close()
        lab.docker("local", "rm", "-f", name, check=False)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=int, default=20)
    args = parser.parse_args()
    facts = _lab_env()
    if not facts:
        print("bench_console: the lab is not up (tests/lab/up)")
        return 1
    lab = Lab(facts)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tuivirt")],
                   check=False, capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "lab.toml"
        config.write_text(lab.config_text())
        bench_open(lab, config, 5)
        bench_keys(lab, config, args.keys, args.rounds)
        bench_burst(lab, config, args.mb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
