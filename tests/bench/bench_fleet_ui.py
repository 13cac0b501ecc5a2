"""Benchmark: the full-screen view over a fleet, beside a bare Textual app on the same pty.

Figures (issue 15 targets in brackets), each also as a ratio to a bare Textual app (a
Static and a Footer: what any Textual program costs on this machine):
- process start -> every host's rows on screen (the status line counts them all)
  [100 SSH hosts <= 3 s]
- RSS once they are [<= 250 MB]; idle CPU over 10 s, nothing changing [< 2 % of a core],
  from 20 s after the rows showed: at 100 hosts each is probed every 13 s, so the first
  period still holds every host's first samples and latencies. The 10 s right after the
  rows (from +3 s) are printed beside it.

Subjects: N demo hosts (libvirt's test driver, one [[host]] each: hermetic, anywhere), and
with the lab up, M [[host]] entries over SSH to hostb (each its own session and SSH
connection; the handshakes are capped, so hostb's stock MaxStartups takes 100 of them).
Each run waits a second after the last one closed: 100 sshd sessions ending are load
the next start would otherwise pay for.
Run: python tests/bench/bench_fleet_ui.py [--hosts 100] [--ssh-hosts 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Idle CPU is measured from this long after the rows showed: one probe period of a fleet
#: of 100 (13 s) and the settling after it.
STEADY_AFTER = 20.0
sys.path.insert(0, str(ROOT))
from tests.bench.bench_ui import Terminal  # noqa: E402
from tests.bench.common import compile_tree  # noqa: E402
from tests.conftest import Lab, _lab_env  # noqa: E402
from tests.ptyrun import PtyRun  # noqa: E402
from tuivirt.config import demo_node_path  # noqa: E402

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Static

class Bare(App[None]):
    def compose(self):
        yield Static("bare app ready")
        yield Footer()

Bare().run()
"""


@dataclass
class Figures:
    start: list[float]
    rss_mb: float
    idle_cpu: float  # from STEADY_AFTER s after the rows
    early_cpu: float  # the 10 s from 3 s after the rows


class BareTerminal(Terminal):
    """The bare Textual app on the same kind of pty (160x45)."""

    def __init__(self, script: Path) -> None:
        self.name = "bare"
        self.output = bytearray()
        self.guests = 0
        self.start = time.perf_counter()
        PtyRun.__init__(self, [sys.executable, str(script)], cols=160, rows=45, cwd=ROOT,
                        env={"COLUMNS": "160", "LINES": "45"})


def demo_config(tmp: Path, hosts: int) -> Path:
    node = demo_node_path()
    path = tmp / f"demo{hosts}.toml"
    path.write_text("".join(f'[[host]]\nname = "d{i:03d}"\nlibvirt = ["test://{node}"]\n'
                            f'tags = ["rack{i % 4}"]\n' for i in range(hosts)))
    return path


def ssh_config(tmp: Path, lab: Lab, hosts: int) -> Path:
    path = tmp / f"ssh{hosts}.toml"
    path.write_text("".join(f"""[[host]]
name = "b{i:03d}"
ssh = "root@{lab.hostb_addr}"
ssh_identity = "{lab.client_key}"
ssh_known_hosts = "{lab.known_hosts}"
libvirt = ["qemu:///system"]
docker = "unix:///run/docker.sock"
""" for i in range(hosts)))
    return path


def guests_per_host(config: Path) -> int:
    """What one host of the config lists (`tuivirt list --json` on the first host)."""
    proc = subprocess.run([sys.executable, "-m", "tuivirt", "--config", str(config), "list",
                           "--json", "--host", "b000"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=False)
    return len(json.loads(proc.stdout or "[]"))


def measure(make: type[Terminal] | None, arg: Path, expected: int | None, runs: int,
            ready_text: str = "") -> Figures:
    """Start -> ready `runs` times; RSS and idle CPU from the last run."""
    starts: list[float] = []
    rss = idle = early = 0.0
    for run in range(runs):
        term = BareTerminal(arg) if make is None else Terminal(ROOT, arg, f"fleet{run}")
        try:
            if expected is None:
                starts.append(term.wait_for(ready_text, 60))
            else:
                end = time.perf_counter() + 120
                while term.guests < expected and time.perf_counter() < end:
                    time.sleep(0.02)
                if term.guests < expected:
                    raise RuntimeError(f"{expected} rows never showed ({term.guests} did)")
                starts.append(time.perf_counter() - term.start)
            if run == runs - 1:
                ready = time.perf_counter()
                early = cpu_over(term, ready + 3, 10)  # the gate's work, first probes
                idle = cpu_over(term, ready + STEADY_AFTER, 10)
                rss = term.rss_mb()
        finally:
            term.close()
        time.sleep(1)
    return Figures(starts, rss, idle, early)


def cpu_over(term: Terminal, start: float, seconds: float) -> float:
    """% of a core the process used over `seconds` from `start` (perf_counter)."""
    time.sleep(max(0.0, start - time.perf_counter()))
    before = term.cpu_seconds()
    time.sleep(seconds)
    return (term.cpu_seconds() - before) / seconds * 100


def show(name: str, fig: Figures, bare: Figures | None) -> None:
    start = statistics.median(fig.start)
    line = (f"   {name:<28} rows on screen {start:5.2f} s (median of {len(fig.start)}, "
            f"min {min(fig.start):.2f})   RSS {fig.rss_mb:6.1f} MB   "
            f"idle CPU {fig.idle_cpu:5.2f} % (first 10 s: {fig.early_cpu:.2f} %)")
    if bare is not None:
        line += (f"\n   {'':<28} x bare app: start {start / statistics.median(bare.start):4.1f}"
                 f"   RSS {fig.rss_mb / bare.rss_mb:4.1f}   idle CPU "
                 f"{fig.idle_cpu / max(bare.idle_cpu, 0.01):5.1f}")
    print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--ssh-hosts", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    compile_tree(ROOT)
    facts = _lab_env()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        script = tmp / "bare.py"
        script.write_text(BARE_APP)
        print("== the fleet view [targets: 100 SSH hosts' rows <= 3 s, RSS <= 250 MB, "
              "idle CPU < 2 %]")
        bare = measure(None, script, None, args.runs, ready_text="bare app ready")
        show("bare Textual app", bare, None)
        demo = demo_config(tmp, args.hosts)
        show(f"{args.hosts} demo hosts ({args.hosts * 10} rows)",
             measure(Terminal, demo, args.hosts * 10, args.runs), bare)
        if facts and args.ssh_hosts:
            ssh = ssh_config(tmp, Lab(facts), args.ssh_hosts)
            per_host = guests_per_host(ssh)
            if not per_host:
                print("   SSH hosts: hostb lists nothing; skipped")
            else:
                rows = per_host * args.ssh_hosts
                show(f"{args.ssh_hosts} SSH hosts to hostb ({rows} rows)",
                     measure(Terminal, ssh, rows, args.runs), bare)
        elif not facts:
            print("   SSH hosts: the lab is not up; skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
