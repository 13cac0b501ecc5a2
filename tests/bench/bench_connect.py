"""Benchmark: connecting hosts in parallel; a hung host must not delay the others' rows.

Side by side in one run: the lab's two hosts (local, hostb over SSH), and the same two
plus a host whose sshd accepts TCP and then never answers. Reported: time until both
reachable hosts' rows are in the inventory, and `tuivirt list` wall time with a host
that refuses connections. Needs the lab (tests/lab/up).
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.common import report, side_by_side, time_command
from tests.conftest import LAB_DIR, Lab, _lab_env
from tuivirt.config import parse_config
from tuivirt.inventory import Diff
from tuivirt.session import Fleet


def tarpit() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, server.getsockname()[1]


def time_to_rows(config_text: str) -> float:
    """Seconds from Fleet.connect() until both lab hosts have rows in the inventory."""
    config = parse_config(config_text, "bench.toml")
    fleet = Fleet(config)
    seen: set[str] = set()
    done = threading.Event()
    stamp: list[float] = []

    def on_diff(diff: Diff) -> None:
        seen.update(g.host for g in diff.added)
        if {"local", "hostb"} <= seen and not done.is_set():
            stamp.append(time.perf_counter())
            done.set()

    fleet.inventory.subscribe(on_diff)
    start = time.perf_counter()
    threading.Thread(target=fleet.connect, daemon=True).start()
    if not done.wait(30):
        raise RuntimeError("the lab hosts' rows never arrived")
    elapsed = stamp[0] - start
    threading.Thread(target=fleet.close, daemon=True).start()
    return elapsed


def main() -> int:
    facts = _lab_env()
    if not facts:
        print(f"bench_connect: the lab is not up ({LAB_DIR}); skipped")
        return 0
    lab = Lab(facts)
    server, port = tarpit()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    two = "timeout = 5\n" + lab.config_text()
    hung = two + f'\n[[host]]\nname = "hung"\nssh = "root@127.0.0.1:{port}"\n' \
                 'libvirt = ["qemu:///system"]\n'
    refusing = two + f'\n[[host]]\nname = "refusing"\nssh = "root@127.0.0.1:{closed_port}"\n' \
                     'libvirt = ["qemu:///system"]\n'
    samples = side_by_side(7, **{
        "local+hostb": lambda: time_to_rows(two),
        "local+hostb+hung host": lambda: time_to_rows(hung),
    })
    report("time until both reachable hosts' rows are in the inventory", samples)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, text in (("two", two), ("refusing", refusing)):
            files[name] = Path(tmp) / f"{name}.toml"
            files[name].write_text(text)

        def cli(name: str) -> float:
            cmd = [sys.executable, "-m", "tuivirt", "--config", str(files[name]), "list"]
            try:
                return time_command(cmd)
            except RuntimeError:  # exit 1: a host was unreachable, as intended
                return time.perf_counter() - start_mark[0]

        start_mark = [0.0]

        def timed(name: str) -> float:
            start_mark[0] = time.perf_counter()
            return cli(name)

        samples = side_by_side(5, **{
            "tuivirt list (local+hostb)": lambda: timed("two"),
            "tuivirt list (+refusing host)": lambda: timed("refusing"),
        })
    report("`tuivirt list` wall time, with and without a refusing host", samples)
    server.close()
    event_latency(lab, two)
    return 0


def wait_arrival(cond: threading.Condition, arrived: dict[tuple[str, str, str], float],
                 key: tuple[str, str, str]) -> float | None:
    with cond:
        cond.wait_for(lambda: key in arrived, timeout=10)
        return arrived.get(key)


def event_latency(lab: Lab, config_text: str) -> None:
    """From `virsh suspend/resume` (or docker pause) returning to the row's diff.

    The UI paints that diff in its next frame (<= 1/240 s later with TEXTUAL_FPS=240).
    """
    from tuivirt.model import GuestState

    fleet = Fleet(parse_config(config_text, "bench.toml"), live=True)
    arrived: dict[tuple[str, str, str], float] = {}
    cond = threading.Condition()

    def on_diff(diff: Diff) -> None:
        with cond:
            for guest in diff.changed:
                arrived[(guest.host, guest.name, str(guest.state))] = time.perf_counter()
            cond.notify_all()

    fleet.inventory.subscribe(on_diff)
    fleet.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(s.reachable
                                                  for s in fleet.sessions.values()):
        time.sleep(0.1)
    targets = {"local": "tiny", "hostb": "tinyb"}
    samples: dict[str, list[float]] = {}
    for host, name in targets.items():
        lab.virsh(host, "start", name, check=False)
    time.sleep(2)
    def measure(host: str, name: str, run: Callable[[str], object],
                pause: str, resume: str) -> list[float]:
        found = []
        for _ in range(5):
            for command, state in ((pause, GuestState.PAUSED), (resume, GuestState.RUNNING)):
                with cond:
                    arrived.pop((host, name, str(state)), None)
                run(command)
                done = time.perf_counter()
                seen = wait_arrival(cond, arrived, (host, name, str(state)))
                if seen is not None:
                    found.append(max(0.0, seen - done))
        return found

    for host, name in targets.items():
        samples[f"virsh suspend/resume ({host})"] = measure(
            host, name, lambda c, h=host, n=name: lab.virsh(h, c, n), "suspend", "resume")
        lab.virsh(host, "destroy", name, check=False)
    for host, container in (("local", "tinybox"), ("hostb", "boxb")):
        lab.docker(host, "start", container, check=False)
        samples[f"docker pause/unpause ({host})"] = measure(
            host, container, lambda c, h=host, n=container: lab.docker(h, c, n),
            "pause", "unpause")
    fleet.close()
    report("daemon command returned -> the row's diff in the inventory [target <= 0.2 s]",
           samples)


if __name__ == "__main__":
    raise SystemExit(main())
